"""benchmarks/camera_motion.py on a trained run: every sampled transition is counted once, per code and per move."""

import json
import sys

from benchmarks import camera_motion
from genie.checkpoints import read_world
from genie.world import WorldModel


def test_the_benchmark_counts_every_transition_once_and_writes_its_json(trained_run, monkeypatch, tmp_path):
    world, parts = WorldModel.load(trained_run), read_world(trained_run)
    codes = camera_motion.code_moves(world, parts["tokens"], radius=3, count=40)
    assert sum(c["transitions"] for c in codes.values()) == 40
    assert set(codes) == {str(a) for a in range(world.num_actions)}
    for c in codes.values():
        assert 0.0 <= c["share_token_or_more"] <= 1.0
        assert c["longest_run"] == 0 or 1 <= c["mean_run"] <= c["longest_run"]
    one_step = camera_motion.one_step_moves(world, parts["tokens"], radius=3, count=40)
    assert sum(g["transitions"] for g in one_step.values()) <= 40  # moves beyond the largest group are left out
    assert all(0.0 <= g["exact"] <= 1.0 and 0.0 <= g["still"] <= 1.0 for g in one_step.values())
    out = tmp_path / "camera_motion.json"
    monkeypatch.setattr(sys, "argv", ["camera_motion", str(trained_run), "--transitions", "20", "--steps", "4",
                                      "--out", str(out)])
    camera_motion.main()
    written = json.loads(out.read_text())[str(trained_run)]
    assert set(written) == {"codes", "one_step", "held"} and len(written["held"]["dream_per_step"]) in (0, 4)
