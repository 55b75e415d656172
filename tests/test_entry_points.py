"""train.py and dream.py as a user runs them: artefacts on success, one clear line and exit 2 on user errors."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.artefacts import gif_frames, metrics_file

pytestmark = pytest.mark.slow  # train.py and dream.py run as subprocesses

ROOT = Path(__file__).resolve().parents[1]


def run(script, *args, cwd):
    return subprocess.run([sys.executable, str(ROOT / script), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


def test_dream_py_rewrites_the_artefacts_of_a_run_with_chosen_actions(trained_run, tmp_path):
    out = tmp_path / "dream_out"
    result = run("dream.py", f"run={trained_run}", "report=tiny", "actions=[1,2]", "steps=6", f"out_dir={out}", "scale=1",
                 "eval_clips=16", "tsne_points=16", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = metrics_file(out / "metrics.json", "dynamics/psnr_next", "dream/steps")
    frames = gif_frames(out / "dream.gif")
    assert metrics["dream/steps"] == 6 and len(frames) > 6  # the context frames, then the 6 dreamed steps
    assert frames.shape[2] == 2 * frames.shape[1] + 2  # real | dream, side by side at scale 1


def test_dream_py_eval_mode_writes_rollout_and_controllability_metrics(trained_run, tmp_path):
    import json

    out = tmp_path / "eval_out"
    result = run("dream.py", f"run={trained_run}", "report=tiny", "mode=eval", f"out_dir={out}", "eval_clips=16", "rollout_clips=4",
                 "steps=4", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = json.loads((out / "eval.json").read_text())
    for key in ("dynamics/psnr_next", "dynamics/ssim_next", "dynamics/psnr_copy_baseline", "dynamics/delta_t_psnr",
                "dynamics/psnr_rollout_t1", "dynamics/psnr_rollout_from1_t16", "lam/action_nmi", "lam/effect_nmi",
                "lam/codes_used", "dream/frames_per_second"):
        assert key in metrics, key


def test_dream_py_without_a_run_says_so(tmp_path):
    result = run("dream.py", f"paths.log_dir={tmp_path}/none", cwd=tmp_path)
    assert result.returncode == 2
    assert "no trained run" in result.stderr and "Traceback" not in result.stderr


def test_dream_py_rejects_out_of_range_actions(trained_run, tmp_path):
    result = run("dream.py", f"run={trained_run}", "actions=[99]", f"out_dir={tmp_path}/o", cwd=tmp_path)
    assert result.returncode == 2
    assert "dream.actions" in result.stderr and "Traceback" not in result.stderr


def test_train_py_reports_a_bad_reuse_path_in_one_line(tmp_path):
    result = run("train.py", "debug=tiny", "stage=dynamics", f"run.tokenizer={tmp_path}/missing.ckpt",
                 f"paths.root_dir={tmp_path}", cwd=tmp_path)
    assert result.returncode == 2
    assert "missing.ckpt" in result.stderr and "Traceback" not in result.stderr


def test_dream_py_evaluates_on_another_store_and_names_a_missing_one(trained_run, tmp_path):
    from genie.data.synthetic import generate_synthetic

    other = generate_synthetic(str(tmp_path / "other"), 32, {"train": 1, "val": 1, "test": 2}, 24, seed=5)
    out = tmp_path / "eval_other"
    result = run("dream.py", f"run={trained_run}", "report=tiny", "mode=eval", f"store={other.root}", f"out_dir={out}",
                 "eval_clips=8", "rollout_clips=2", "steps=4", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    metrics_file(out / "eval.json", "dynamics/psnr_next", "dynamics/delta_t_psnr", "lam/codes_used")
    missing = run("dream.py", f"run={trained_run}", "mode=eval", f"store={tmp_path}/nowhere", cwd=tmp_path)
    assert missing.returncode == 2
    assert "nowhere/manifest.json" in missing.stderr and "Traceback" not in missing.stderr
