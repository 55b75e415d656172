"""One run directory and a world that loads, whether ranks come from torchrun or from Lightning's ddp launcher."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from genie.checkpoints import read_world
from genie.world import WorldModel
from tests.artefacts import gif_frames

ROOT = Path(__file__).resolve().parents[1]
TWO_CPU_RANKS = ["debug=tiny", "trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2",
                 "trainer.precision=32-true", "logger=none", "dream.long_play.starts=0"]


def run_two_ranks(launcher: list[str], tmp_path: Path) -> Path:
    args = [*TWO_CPU_RANKS, f"paths.log_dir={tmp_path / 'runs'}", f"paths.data_dir={tmp_path / 'data'}"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([*launcher, str(ROOT / "train.py"), *args], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    runs = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    assert len(runs) == 1, runs  # every rank wrote into the same run directory
    return runs[0]


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["torchrun", "lightning"])
def test_two_rank_run_makes_one_run_directory_and_a_world_that_dreams(tmp_path, launcher):
    command = ([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2"] if launcher == "torchrun"
               else [sys.executable])
    run = run_two_ranks(command, tmp_path)
    assert {"tokenizer", "lam", "dynamics", "data"} <= set(read_world(run))
    gif_frames(run / "dream" / "dream.gif")
    assert WorldModel.load(run).num_actions > 0
