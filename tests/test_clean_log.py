"""One clean log: each message once, no third-party tips, and in a log file (not a terminal) a progress line every few
percent of a stage whose time left honours max_time."""

import re
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from lightning.pytorch.callbacks import Timer
from lightning.pytorch.trainer.states import RunningStage

from genie.training.stage_progress import StageProgress

ROOT = Path(__file__).resolve().parents[1]
RECORD = re.compile(r"^\[[\d\-: ,]+\]\[(?P<logger>[^\]]+)\]\[(?P<level>\w+)\] - (?P<message>.*)$")


@pytest.mark.slow
def test_a_stage_logged_to_a_file_says_each_message_once_and_its_progress_every_five_percent(tmp_path, shared_data):
    steps = 60
    done = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), "debug=tiny", "stage=tokenizer", "logger=wandb",
         f"budget.tokenizer.max_steps={steps}", "budget.tokenizer.val_check_interval=30",
         f"paths.root_dir={tmp_path}", f"paths.data_dir={shared_data}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)  # pipes: not a terminal
    assert done.returncode == 0, done.stderr[-3000:]
    console = (done.stdout + done.stderr).splitlines()
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert console == (run_dir / "train.log").read_text().splitlines(), "train.log differs from the console"
    console = without_config_tree(console)

    assert "Tip" not in done.stdout + done.stderr
    assert "\r" not in done.stdout + done.stderr, "a progress bar drawn into a log"
    unparsed = [line for line in console if line.strip() and not RECORD.match(line)]
    assert not unparsed, f"lines outside the log format: {unparsed}"
    messages = [RECORD.match(line)["message"] for line in console if line.strip()]
    repeated = [m for m, n in Counter(messages).items() if n > 1]
    assert not repeated, f"said more than once: {repeated}"

    progress = [m for m in messages if re.match(r"\[tokenizer\] \d+% done, step \d+/60", m)]
    assert 10 <= len(progress) <= 100 / 5 + 1, progress
    assert progress[-1].startswith("[tokenizer] 100% done, step 60/60")


def without_config_tree(lines: list[str]) -> list[str]:
    """The log without the body of the config tree (genie/training/config_tree.py), the one record of several lines;
    its first line stays."""
    (start,) = [i for i, line in enumerate(lines) if line.endswith("[genie.training.config_tree][INFO] - config")]
    end = start + 1
    while end < len(lines) and lines[end].startswith(("├── ", "│   ", "└── ", "    ")):
        end += 1
    assert lines[end - 1].startswith("    "), "the tree ends with its top-level values"
    return lines[: start + 1] + lines[end:]


def test_time_left_is_max_time_s_when_it_ends_the_stage_first():
    """60 s of a 100 s max_time spent on 10 of 1000 steps: max_time ends the stage in 40 s, 60 % of it is done."""
    timer = Timer(duration=timedelta(seconds=100))
    timer._start_time[RunningStage.TRAINING] = time.monotonic() - 60
    progress = StageProgress("tokenizer")
    progress.start = (time.monotonic() - 60, 0)
    trainer = SimpleNamespace(global_step=10, max_steps=1000, callbacks=[timer])

    fraction, left, by_time = progress.fraction_and_left(trainer)

    assert by_time and abs(left - 40) < 1 and abs(fraction - 0.6) < 0.01


def test_time_left_follows_the_steps_when_they_end_the_stage_first():
    """60 s for 500 of 1000 steps and 900 s of max_time left: the steps end the stage, in about 60 s."""
    timer = Timer(duration=timedelta(seconds=1000))
    timer._start_time[RunningStage.TRAINING] = time.monotonic() - 100
    progress = StageProgress("tokenizer")
    progress.start = (time.monotonic() - 60, 0)
    trainer = SimpleNamespace(global_step=500, max_steps=1000, callbacks=[timer])

    fraction, left, by_time = progress.fraction_and_left(trainer)

    assert not by_time and abs(left - 60) < 1 and abs(fraction - 0.5) < 0.01
