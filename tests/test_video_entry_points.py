"""`python prepare.py` and `python train.py` pointed at a folder of videos, as a user types them."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from videos import truncate, write_video

pytestmark = pytest.mark.slow  # prepare.py and train.py run as subprocesses

ROOT = Path(__file__).resolve().parents[1]


def run(script, *args, cwd):
    return subprocess.run([sys.executable, str(ROOT / script), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


@pytest.fixture
def folder(tmp_path):
    videos = tmp_path / "my videos"
    for seed, name in enumerate(["a.mp4", "b.webm", "c.gif", "sub/d d.AVI"]):
        write_video(videos / name, frames=24, seed=seed)
    return videos


def test_prepare_py_stops_at_a_bad_file_with_one_line_naming_it(folder, tmp_path):
    truncate(write_video(tmp_path / "whole.mkv", frames=40), folder / "cut short.mkv")
    result = run("prepare.py", "data=video_folder", f"data.path={folder}", "data.frame_size=32",
                 f"paths.data_dir={tmp_path}/data", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr + result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and str(folder / "cut short.mkv") in errors[0] and "damaged" in errors[0]


def test_prepare_py_skips_bad_files_when_asked_and_prints_a_summary(folder, tmp_path):
    (folder / "empty.mp4").write_bytes(b"")
    result = run("prepare.py", "data=video_folder", f"data.path={folder}", "data.frame_size=32",
                 "data.on_bad_file=skip", "data.split_by=file", f"paths.data_dir={tmp_path}/data", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "frames: 96 in 4 episodes" in result.stdout and "split by file: data.split_by=file" in result.stdout
    assert "files: 5 found" in result.stdout and "4 in the store, 1 skipped" in result.stdout
    assert "skipped: empty.mp4: empty file (0 bytes)" in result.stdout


def test_prepare_py_on_a_folder_without_videos_names_it(tmp_path):
    (tmp_path / "nothing here").mkdir()
    result = run("prepare.py", "data=video_folder", f"data.path={tmp_path}/nothing here", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"error: {tmp_path}/nothing here: no video files" in result.stderr


def test_prepare_py_without_a_folder_says_which_key_to_set(tmp_path):
    result = run("prepare.py", "data=video_folder", f"paths.data_dir={tmp_path}/data", cwd=tmp_path)
    assert result.returncode == 2 and "error: data.path: set it to a folder of videos" in result.stderr


@pytest.mark.slow
def test_train_py_trains_every_stage_straight_from_one_recording(tmp_path):
    folder = tmp_path / "my videos"
    write_video(folder / "my game.mp4", frames=600)  # one file: split by time (27 frames each for val and test)
    result = run("train.py", "data=video_folder", f"data.path={folder}", "debug=tiny", f"paths.root_dir={tmp_path}",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (metrics_file,) = (tmp_path / "runs").glob("*/dream/metrics.json")
    metrics = json.loads(metrics_file.read_text())
    assert metrics["tokenizer/psnr"] > 0 and "dynamics/psnr_next" in metrics
    assert "lam/action_nmi" not in metrics  # videos carry no true actions
    (store,) = (tmp_path / "data").glob("videos_my_videos-*_32px_crop_fpsNone")
    assert json.loads((store / "manifest.json").read_text())["complete"]
