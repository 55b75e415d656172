"""hparams_search: a 2-trial Optuna sweep of a stage runs end to end and optimises a validation metric."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def sweep(tmp_path: Path, *overrides: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "train.py"), "-m", "debug=tiny", "logger=none", "hydra.sweeper.n_trials=2",
         f"paths.log_dir={tmp_path / 'runs'}", f"paths.data_dir={tmp_path / 'data'}", *overrides],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_two_trial_tokenizer_sweep_reports_the_best_validation_psnr(tmp_path):
    done = sweep(tmp_path, "hparams_search=tokenizer_optuna")
    assert done.returncode == 0, done.stderr[-3000:]
    (sweep_dir,) = (tmp_path / "runs").glob("multirun_*")
    assert sorted(p.name for p in sweep_dir.iterdir() if p.is_dir()) == ["0", "1"]
    results = yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())
    assert 0 < results["best_value"] < 60  # a PSNR in dB, measured on the validation split
    assert set(results["best_params"]) == {"model.tokenizer.lr", "model.tokenizer.warmup_steps"}


@pytest.mark.slow
def test_a_sweep_on_a_metric_the_stage_does_not_measure_fails_with_its_name(tmp_path):
    done = sweep(tmp_path, "hparams_search=tokenizer_optuna", "optimized_metric=tokenizer/val/nonexistent")
    assert done.returncode != 0
    assert "optimized_metric=tokenizer/val/nonexistent" in done.stderr
