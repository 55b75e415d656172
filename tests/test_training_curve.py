"""benchmarks/training_curve.py: which snapshots of a run it scores, and the world it scores each as."""

import json

import pytest

from benchmarks.training_curve import snapshot_world, snapshots
from genie.checkpoints import read_world
from genie.errors import UserError


def make_run(tmp_path, names):
    run = tmp_path / "run"
    ckpts = run / "checkpoints" / "dynamics"
    ckpts.mkdir(parents=True)
    for name in names:
        (ckpts / name).write_bytes(b"")
    (run / "world.json").write_text(json.dumps({"tokenizer": "/w/tok.ckpt", "lam": "/w/lam.ckpt", "data": "/d",
                                                "dynamics": "checkpoints/dynamics/final.ckpt"}))
    return run


def test_snapshots_come_in_step_order_without_last_or_final(tmp_path):
    run = make_run(tmp_path, ["step9000.ckpt", "step15000.ckpt", "step1500.ckpt", "last.ckpt", "final.ckpt"])
    assert [step for step, _ in snapshots(run)] == [1500, 9000, 15000]


def test_a_run_without_snapshots_is_one_clear_error_naming_it_and_the_fix(tmp_path):
    run = make_run(tmp_path, ["last.ckpt", "final.ckpt"])
    with pytest.raises(UserError, match=r"run: no dynamics snapshots.*save_top_k=-1"):
        snapshots(run)


def test_each_snapshot_is_a_world_of_the_runs_parts_and_that_dynamics(tmp_path):
    run = make_run(tmp_path, ["step3000.ckpt"])
    (step, ckpt), = snapshots(run)
    world = read_world(snapshot_world(run, step, ckpt))
    assert world["dynamics"] == str(ckpt.resolve())
    assert (world["tokenizer"], world["lam"], world["data"]) == ("/w/tok.ckpt", "/w/lam.ckpt", "/d")
