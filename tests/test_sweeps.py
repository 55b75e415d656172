"""hparams_search: Optuna sweeps of a stage run end to end as typed, optimise a validation metric, and resume from their
sqlite study (docs/sweeps.md)."""

import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from genie.sweeps import resumable_tpe, resume_study

ROOT = Path(__file__).resolve().parents[1]


def train(cwd: Path, *overrides: str) -> subprocess.CompletedProcess:
    """``python train.py <overrides>`` typed in ``cwd`` (runs/, data/ and the study land there)."""
    return subprocess.run([sys.executable, str(ROOT / "train.py"), *overrides], cwd=cwd, capture_output=True,
                          text=True, timeout=600)


@pytest.mark.slow
def test_a_two_trial_study_typed_twice_holds_four_complete_trials_with_distinct_parameters(tmp_path):
    command = ["-m", "hparams_search=tokenizer_optuna", "debug=tiny", "hydra.sweeper.n_trials=2"]
    for _ in range(2):
        done = train(tmp_path, *command)
        assert done.returncode == 0, done.stderr[-3000:]
    storage = f"sqlite:///{tmp_path / 'runs' / 'optuna.db'}"  # the preset's default, under the cwd
    study = optuna.load_study(study_name="tokenizer_synthetic_tiny", storage=storage)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 4
    assert len({tuple(sorted(t.params.items())) for t in study.trials}) == 4
    sweeps = sorted((tmp_path / "runs").glob("multirun_*"))
    assert len(sweeps) == 2
    results = yaml.safe_load((sweeps[-1] / "optimization_results.yaml").read_text())
    assert 0 < results["best_value"] < 60  # a PSNR in dB, the best of all four trials
    assert results["best_value"] == max(t.value for t in study.trials)
    assert set(results["best_params"]) == {"model.tokenizer.lr", "model.tokenizer.warmup_steps"}


@pytest.mark.slow
def test_a_sweep_on_a_metric_the_stage_does_not_measure_fails_with_its_name(tmp_path):
    done = train(tmp_path, "-m", "hparams_search=tokenizer_optuna", "debug=tiny", "hydra.sweeper.n_trials=1",
                 "optimized_metric=tokenizer/val/nonexistent")
    assert done.returncode != 0
    assert "optimized_metric=tokenizer/val/nonexistent" in done.stderr


def test_resuming_marks_the_trial_a_killed_sweep_left_running_as_failed(tmp_path):
    storage = f"sqlite:///{tmp_path / 'new folder' / 'optuna.db'}"  # the folder is made
    assert resume_study(storage, "s") == 0
    study = optuna.create_study(study_name="s", storage=storage)
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=1)
    study.ask()  # a trial whose process was killed: RUNNING forever
    assert resume_study(storage, "s") == 2
    assert [t.state for t in optuna.load_study(study_name="s", storage=storage).trials] == [
        TrialState.COMPLETE, TrialState.FAIL]


def one_trial(storage: str, sampler) -> float:
    study = optuna.create_study(study_name="s", storage=storage, sampler=sampler, load_if_exists=True)
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=1)
    return study.trials[-1].params["x"]


def test_the_sampler_seed_moves_on_by_the_trials_already_in_the_study(tmp_path):
    storage, elsewhere = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    first = one_trial(storage, resumable_tpe(storage, "s", seed=7))
    second = one_trial(storage, resumable_tpe(storage, "s", seed=7))  # the same command typed again
    assert first == one_trial(elsewhere, optuna.samplers.TPESampler(seed=7))  # a fresh study: reproducible
    assert second != first
    assert second == one_trial(f"sqlite:///{tmp_path / 'c.db'}", optuna.samplers.TPESampler(seed=8))


def test_without_storage_the_sampler_is_the_plain_seeded_tpe(tmp_path):
    assert resume_study(None, "s") == 0
    assert one_trial(f"sqlite:///{tmp_path / 'a.db'}", resumable_tpe(None, None, seed=3)) == one_trial(
        f"sqlite:///{tmp_path / 'b.db'}", optuna.samplers.TPESampler(seed=3))
