"""kill -9 in the middle of each stage (and of pre-tokenisation), then the documented resume: training continues
from the last checkpoint to its full budget and the world loads."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from genie.checkpoints import read_world
from genie.world import WorldModel

ROOT = Path(__file__).resolve().parents[1]
STEPS = 300  # long enough to be killed mid-stage: tiny nets run ~50-100 steps/s here


def train_command(tmp: Path, run: str, *overrides: str) -> list[str]:
    return [sys.executable, str(ROOT / "train.py"), "debug=tiny", "logger=none", "stage.dream=false",
            f"paths.data_dir={tmp / 'data'}", f"paths.log_dir={tmp / 'runs'}", f"hydra.run.dir={tmp / 'runs' / run}",
            *overrides]


def run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-3000:]


def kill_when(command: list[str], ready, log: Path, timeout_s: float = 300) -> None:
    """Start ``command`` (its output into ``log``), SIGKILL it as soon as ``ready()`` holds (it must still be running
    then)."""
    with open(log, "w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                   env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.monotonic() + timeout_s
    while not ready():
        assert process.poll() is None, f"finished before it could be killed: {log.read_text()[-2000:]}"
        assert time.monotonic() < deadline, "never got ready to be killed"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()


def steps_of(ckpt: Path) -> int:
    return torch.load(ckpt, map_location="cpu", weights_only=True)["global_step"]


@pytest.fixture(scope="module")
def base_run(tmp_path_factory) -> Path:
    """A tiny finished tokenizer + LAM for the dynamics stage to build on."""
    tmp = tmp_path_factory.mktemp("kill")
    run(train_command(tmp, "base", "stage.stages=[tokenizer,lam]"))
    return tmp


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["tokenizer", "lam", "dynamics", "world"])
def test_stage_killed_mid_training_resumes_to_its_full_budget(base_run, stage):
    tmp = base_run
    reuse = {"tokenizer": [], "lam": [f"run.tokenizer={tmp / 'runs' / 'base'}"],
             "dynamics": [f"run.tokenizer={tmp / 'runs' / 'base'}", f"run.lam={tmp / 'runs' / 'base'}"],
             "world": [f"run.tokenizer={tmp / 'runs' / 'base'}"]}[stage]
    settings = [f"stage={stage}", *reuse, f"budget.{stage}.max_steps={STEPS}",
                f"budget.{stage}.val_check_interval=100", "callbacks.model_checkpoint.every_n_train_steps=20"]
    last = tmp / "runs" / f"killed_{stage}" / "checkpoints" / stage / "last.ckpt"
    kill_when(train_command(tmp, f"killed_{stage}", *settings), last.is_file, tmp / f"killed_{stage}.log")
    assert 0 < steps_of(last) < STEPS
    run(train_command(tmp, f"resumed_{stage}", *settings, f"ckpt_path={last}"))
    resumed = tmp / "runs" / f"resumed_{stage}"
    part = "dynamics" if stage == "world" else stage
    assert steps_of(Path(read_world(resumed)[part])) == STEPS


@pytest.mark.slow
def test_pretokenisation_killed_midway_continues_and_the_world_loads(base_run):
    tmp = base_run
    base = tmp / "runs" / "base"
    settings = ["stage.stages=[dynamics]", f"run.tokenizer={base}", f"run.lam={base}",
                "data.episodes={train: 60, val: 2, test: 2}", "data.seed=7"]
    tokens = tmp / "data" / "tokens"
    partial = lambda: any(len(list(d.glob("episodes/*.tokens.npy"))) >= 5 for d in tokens.glob("synthetic_*_s7_*"))
    run(train_command(tmp, "prepare", *settings, "budget.dynamics.max_steps=1"))  # the store itself, then tokens
    for d in tokens.glob("synthetic_*_s7_*"):  # start the encoding over, to kill it midway
        subprocess.run(["rm", "-rf", str(d)], check=True)
    kill_when(train_command(tmp, "killed_tokens", *settings), partial, tmp / "killed_tokens.log")
    run(train_command(tmp, "resumed_tokens", *settings, "stage.dream=true", "dream.long_play.starts=0"))
    world = WorldModel.load(tmp / "runs" / "resumed_tokens")
    assert world.num_actions > 0
