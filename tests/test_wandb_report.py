"""W&B across a run directory (genie/wandb_runs.py): every run of the group, the report's included, carries the
resolved config, the tags and the notes; validation and report metrics keep their best value in the summary; the world
can be logged as one artifact; the log says how to upload offline runs. Read from the offline run folders."""

import logging
from pathlib import Path

import pytest

from genie.training.pipeline import train
from genie.wandb_runs import best_summary, offline_hint
from tests.conftest import compose_train
from tests.wandb_offline import records, run_config, run_folders, run_header


@pytest.fixture(scope="module")
def logged(tmp_path_factory, shared_data):
    """A tiny run logged to offline W&B with tags, notes and the world artifact: (run dir, its log messages)."""
    cfg = compose_train(tmp_path_factory.mktemp("wandb_report"), "logger=wandb", "tags=[ablation,lr]",
                        "logger.wandb.notes=after the fix", "logger.wandb.log_world=true", data_dir=shared_data)
    messages: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())
    logger = logging.getLogger("genie")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        train(cfg)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    return Path(cfg.paths.output_dir), messages


def folders_by_name(run_dir: Path) -> dict[str, Path]:
    return {run_header(folder).display_name: folder for folder in run_folders(run_dir)}


def summaries(folder: Path) -> dict[str, str]:
    """Metric name -> the summary W&B keeps for it (min / max), for metrics defined with one."""
    defined = [r.metric for r in records(folder) if r.WhichOneof("record_type") == "metric"]
    return {m.name: "min" if m.summary.min else "max" for m in defined if m.summary.min or m.summary.max}


@pytest.mark.slow
def test_every_run_of_the_group_carries_the_config_tags_and_notes(logged):
    run_dir, _ = logged
    folders = folders_by_name(run_dir)
    assert set(folders) == {"tokenizer", "lam", "dynamics", "dream", "world"}
    for name, folder in folders.items():
        header = run_header(folder)
        assert list(header.tags) == ["ablation", "lr"] and header.notes == "after the fix", name
        config = run_config(folder)
        assert config["model"]["tokenizer"]["lr"] == 0.001 and config["tags"] == ["ablation", "lr"], name
        assert config["paths"]["output_dir"] == str(run_dir), name


@pytest.mark.slow
def test_validation_and_report_metrics_keep_their_best_value(logged):
    folders = folders_by_name(logged[0])
    tokenizer = summaries(folders["tokenizer"])
    assert tokenizer["val/psnr"] == "max" and tokenizer["val/loss"] == "min"
    assert "val/reconstruction" not in tokenizer  # pictures get no summary
    assert summaries(folders["lam"])["val/recon_mse"] == "min"
    report = summaries(folders["dream"])
    assert report["tokenizer/psnr"] == "max" and report["dynamics/delta_t_psnr"] == "max"


@pytest.mark.slow
def test_the_world_is_one_artifact_that_unpacks_as_a_run_directory(logged):
    (artifact,) = [r.artifact for r in records(folders_by_name(logged[0])["world"])
                   if r.WhichOneof("record_type") == "artifact"]
    assert artifact.type == "world"
    assert sorted(entry.path for entry in artifact.manifest.contents) == [
        "checkpoints/dynamics/final.ckpt", "checkpoints/lam/final.ckpt", "checkpoints/tokenizer/final.ckpt",
        "world.json"]


@pytest.mark.slow
def test_the_log_says_how_to_upload_the_offline_runs(logged):
    run_dir, messages = logged
    assert f"W&B runs are offline; upload them with: wandb sync {run_dir}/wandb/offline-run-*" in messages


def test_lower_is_better_for_losses_and_errors_only():
    assert [best_summary(n) for n in ("val/loss", "val/recon_mse", "key_response/walk/x_error", "val/psnr",
                                      "lam/action_nmi")] == ["min", "min", "min", "max", "max"]
    assert offline_hint({"offline": False, "save_dir": "/x"}) is None
