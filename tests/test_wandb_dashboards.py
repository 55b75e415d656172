"""W&B: every stage's run shows pictures at validation and carries the resolved config, parameter counts and git
commit; the report joins the stages' group; a resumed stage continues its run; multirun groups name sweep and trial.
Read from the offline run folders under ``<run>/wandb`` (tests/wandb_offline.py)."""

import json
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest
from hydra.conf import HydraConf
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from lightning.pytorch.loggers import CSVLogger, WandbLogger
from lightning.pytorch.loggers.logger import DummyLogger
from omegaconf import OmegaConf

from genie.training.media import image_loggers
from genie.training.pipeline import train
from genie.wandb_runs import IDS_FILE, record_stage_run, report_group, stage_run
from tests.conftest import compose_train
from tests.wandb_offline import media_files, run_config, run_folders, run_header

PICTURES = {
    "tokenizer": {"reconstruction"},
    "lam": {"code_usage", "next_frame_per_code"},
    "dynamics": {"teacher_forced", "dream"},
}


def pictures(run_folder: Path) -> Counter[str]:
    """How many validation pictures of each name a run folder holds (``images/val/<name>_<step>_<hash>.png``)."""
    return Counter(Path(f).name.rsplit("_", 2)[0] for f in media_files(run_folder) if f.startswith("images/val/"))


@pytest.fixture(scope="module")
def wandb_run(tmp_path_factory, shared_data) -> Path:
    """A tiny run of every stage and the report, logged to offline W&B runs."""
    cfg = compose_train(tmp_path_factory.mktemp("wandb"), "logger=wandb", data_dir=shared_data)
    train(cfg)
    return Path(cfg.paths.output_dir)


def stage_folders(run_dir: Path) -> dict[str, Path]:
    """The offline W&B run folder of each stage (and ``dream``, the report), by the run's display name."""
    return {run_header(folder).display_name: folder for folder in run_folders(run_dir)}


@pytest.mark.slow  # reads a run trained through train.py
def test_each_stage_logs_its_pictures_while_training(wandb_run):
    folders = stage_folders(wandb_run)
    for stage, names in PICTURES.items():
        # one of each at both validations (steps 3 and 6)
        assert pictures(folders[stage]) == {name: 2 for name in names}, f"{stage}: {media_files(folders[stage])}"


@pytest.mark.slow  # reads a run trained through train.py
def test_each_stage_run_holds_the_resolved_config_parameter_counts_and_commit(wandb_run):
    folders = stage_folders(wandb_run)
    for stage in PICTURES:
        config = run_config(folders[stage])
        assert {"trainer", "model", "budget", "callbacks", "data"} <= set(config), stage
        assert config["budget"][stage]["max_steps"] == 6  # resolved values, not interpolations
        assert config["paths"]["output_dir"] == str(wandb_run)
        assert config["parameters"]["total"] >= config["parameters"]["trainable"] > 0
        assert len(config["git_commit"]) == 40 and isinstance(config["git_dirty"], bool)


@pytest.mark.slow  # reads a run trained through train.py
def test_stages_and_report_share_the_run_directory_group(wandb_run):
    folders = stage_folders(wandb_run)
    assert set(folders) == {*PICTURES, "dream"}
    assert {run_header(f).run_group for f in folders.values()} == {wandb_run.name}
    record = json.loads((wandb_run / IDS_FILE).read_text())
    assert record == {"group": wandb_run.name, "ids": {s: run_header(folders[s]).run_id for s in PICTURES}}
    assert any(f.startswith("videos/") and f.endswith(".gif") for f in media_files(folders["dream"]))


@pytest.mark.slow  # reads a run trained through train.py
def test_a_resumed_stage_continues_its_wandb_run(wandb_run, tmp_path, shared_data):
    first = stage_folders(wandb_run)["tokenizer"]
    cfg = compose_train(tmp_path, "logger=wandb", "stage=tokenizer", "budget.tokenizer.max_steps=9",
                        f"ckpt_path={wandb_run / 'checkpoints' / 'tokenizer' / 'last.ckpt'}", data_dir=shared_data)
    train(cfg)
    (resumed,) = run_folders(Path(cfg.paths.output_dir))
    assert run_header(resumed).run_id == run_header(first).run_id
    assert run_header(resumed).run_group == wandb_run.name
    assert pictures(resumed) == {"reconstruction": 1}  # the validation at step 9
    assert json.loads((Path(cfg.paths.output_dir) / IDS_FILE).read_text())["ids"]["tokenizer"] == \
        run_header(first).run_id


@pytest.fixture
def multirun_job():
    """Make this process look like a job of a Hydra multirun whose sweep directory is set by the test."""
    hydra = OmegaConf.structured(HydraConf)
    hydra.mode = RunMode.MULTIRUN

    def enter(sweep_dir: Path) -> None:
        hydra.sweep.dir = str(sweep_dir)
        HydraConfig.instance().set_config(OmegaConf.create({"hydra": hydra}))

    yield enter
    HydraConfig.instance().cfg = None


def test_multirun_groups_are_named_by_sweep_and_trial_and_the_report_joins(tmp_path, multirun_job):
    groups = {}
    for sweep in ("multirun_a1", "multirun_b2"):
        multirun_job(tmp_path / sweep)
        for trial in ("0", "1"):
            job_dir = tmp_path / sweep / trial
            job_dir.mkdir(parents=True)
            run = stage_run(job_dir, "tokenizer", trial, resumed_run=None)
            record_stage_run(job_dir, "tokenizer", run)
            groups[sweep, trial] = run.group
            assert report_group(job_dir, trial) == run.group
    assert groups == {(s, t): f"{s}/{t}" for s, t in groups}


def test_pictures_go_only_to_loggers_that_take_images(tmp_path):
    wandb = WandbLogger(save_dir=str(tmp_path), offline=True)  # no run starts until it logs
    trainer = SimpleNamespace(loggers=[CSVLogger(str(tmp_path)), DummyLogger(), wandb])  # DummyLogger: fast_dev_run
    assert image_loggers(trainer) == [wandb]
