"""Trainer config group: DDP on 2 CPU processes and bf16 autocast each train a few steps; W&B logs offline."""

from pathlib import Path

import pytest

from genie.checkpoints import read_world
from genie.training.pipeline import train
from tests.conftest import compose_train


@pytest.mark.slow
def test_ddp_sim_trains_tokenizer_on_two_cpu_processes(tmp_path, shared_data):
    cfg = compose_train(tmp_path, "stage=tokenizer", "trainer=ddp_sim", data_dir=shared_data)
    train(cfg)
    ckpt = Path(read_world(Path(cfg.paths.output_dir))["tokenizer"])
    import torch

    state = torch.load(ckpt, map_location="cpu", weights_only=True)
    assert state["global_step"] == cfg.budget.tokenizer.max_steps


def test_bf16_mixed_precision_trains_lam(tmp_path, shared_data):
    cfg = compose_train(tmp_path, "stage=lam", "trainer.precision=bf16-mixed", "budget.lam.max_steps=2",
                        data_dir=shared_data)
    train(cfg)
    assert "lam" in read_world(Path(cfg.paths.output_dir))


@pytest.mark.slow
def test_wandb_logger_writes_an_offline_run(tmp_path, shared_data, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    cfg = compose_train(tmp_path, "stage=tokenizer", "logger=wandb", "budget.tokenizer.max_steps=2",
                        data_dir=shared_data)
    train(cfg)
    runs = list((Path(cfg.paths.output_dir) / "wandb").glob("offline-run-*"))
    assert runs, "no offline W&B run directory"
