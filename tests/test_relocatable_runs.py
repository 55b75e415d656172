"""A run directory is relocatable: world.json stores the paths inside the run relative to it (genie/checkpoints.py), so
a copy elsewhere loads and dreams with the original gone; a data store kept inside the run travels with it."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from genie.checkpoints import read_world
from genie.runs import open_store_of_run
from genie.training.pipeline import train
from genie.world import WorldModel
from tests.artefacts import gif_frames
from tests.conftest import compose_train

ROOT = Path(__file__).resolve().parents[1]


def train_and_move(tmp_path: Path, data_inside: bool = False) -> Path:
    """A debug=tiny run, moved (copied, then the original deleted) to another folder; returns the copy.
    ``data_inside``: its episode store is generated inside the run directory."""
    cfg = compose_train(tmp_path / "first", "stage.dream=false")
    if data_inside:
        cfg.paths.data_dir = f"{cfg.paths.output_dir}/data"
    train(cfg)
    original = Path(cfg.paths.output_dir)
    copy = tmp_path / "elsewhere" / "my run"
    shutil.copytree(original, copy)
    shutil.rmtree(original)
    return copy


@pytest.mark.slow
def test_a_copied_run_loads_and_dreams_without_the_original(tmp_path):
    copy = train_and_move(tmp_path)
    entries = json.loads((copy / "world.json").read_text())
    for stage in ("tokenizer", "lam", "dynamics"):
        assert entries[stage] == f"checkpoints/{stage}/final.ckpt"  # relative to the run
    assert Path(entries["data"]).is_absolute()  # the store lives outside the run: kept where it is
    assert all(Path(path).is_relative_to(copy) for stage, path in read_world(copy).items()
               if stage in ("tokenizer", "lam", "dynamics"))

    world = WorldModel.load(copy)
    assert world.num_actions > 0
    done = subprocess.run([sys.executable, str(ROOT / "dream.py"), f"run={copy}", "report=tiny", "steps=4"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    gif_frames(copy / "dream" / "dream.gif")
    assert json.loads((copy / "dream" / "metrics.json").read_text())["dream/steps"] == 4


@pytest.mark.slow
def test_a_data_store_inside_the_run_travels_with_it(tmp_path):
    copy = train_and_move(tmp_path, data_inside=True)
    entries = json.loads((copy / "world.json").read_text())
    assert not Path(entries["data"]).is_absolute() and entries["data"].startswith("data/")
    store = open_store_of_run(copy)
    assert store.root.resolve().is_relative_to(copy.resolve()) and len(store) > 0
