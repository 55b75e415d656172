"""Shared fixtures: the real Hydra configs, composed with tiny settings, writing into a temporary directory."""

from __future__ import annotations

import os
from pathlib import Path

import lightning as L
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, open_dict

from genie.cli import register_resolvers
from genie.training.distributed import leave_process_group

CONFIGS = str(Path(__file__).resolve().parents[1] / "genie" / "configs")
os.environ.setdefault("WANDB_MODE", "offline")
register_resolvers()

# The fast tier (-m "not slow") trains nothing through train.py's pipeline, spawns no process and drives no browser;
# tests that do are marked slow where they are written. These fixtures train a run, so a test using them is slow.
TRAINING_FIXTURES = {"trained_run", "world", "store"}


class LeaveProcessGroup(L.Callback):
    """For tests that run a Trainer over ddp_spawn ranks: each rank leaves the process group when its trainer ends,
    as train.py's ranks do (genie.training.distributed.leave_process_group)."""

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        leave_process_group()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if TRAINING_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def compose_train(tmp: Path, *overrides: str, data_dir: Path | None = None) -> DictConfig:
    """``configs/train.yaml`` with ``debug=tiny`` and every path under ``tmp``."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=CONFIGS, version_base="1.3"):
        cfg = compose("train", overrides=["debug=tiny", *overrides])
    with open_dict(cfg):
        cfg.paths.root_dir = str(tmp)
        cfg.paths.data_dir = str(data_dir or tmp / "data")
        cfg.paths.log_dir = str(tmp / "runs")
        cfg.paths.output_dir = str(tmp / "runs" / "run")
    GlobalHydra.instance().clear()
    return cfg


@pytest.fixture(scope="session")
def shared_data(tmp_path_factory) -> Path:
    """One tiny synthetic store for the whole session (generation is deterministic)."""
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, shared_data) -> Path:
    """A complete tiny run (all stages + dream artefacts), trained once and shared by read-only tests."""
    from genie.training.pipeline import train

    tmp = tmp_path_factory.mktemp("trained")
    cfg = compose_train(tmp, data_dir=shared_data)
    train(cfg)
    return Path(cfg.paths.output_dir)


@pytest.fixture(scope="session")
def world(trained_run):
    """The tiny trained run's WorldModel (read-only)."""
    from genie.world import WorldModel

    return WorldModel.load(trained_run)


@pytest.fixture(scope="session")
def store(trained_run):
    """The episode store the tiny trained run was trained on (read-only)."""
    from genie.runs import open_store_of_run

    return open_store_of_run(trained_run)
