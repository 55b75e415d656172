"""Trainer config group: DDP on 2 CPU processes and bf16 autocast each train a few steps; W&B logs offline."""

from pathlib import Path

import pytest
import torch

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


@pytest.mark.slow
def test_bf16_mixed_precision_trains_lam(tmp_path, shared_data):
    cfg = compose_train(tmp_path, "stage=lam", "trainer.precision=bf16-mixed", "budget.lam.max_steps=2",
                        data_dir=shared_data)
    train(cfg)
    lam = torch.load(read_world(Path(cfg.paths.output_dir))["lam"], map_location="cpu", weights_only=True)
    assert lam["global_step"] == 2


@pytest.mark.slow
def test_wandb_logger_writes_an_offline_run(tmp_path, shared_data, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    cfg = compose_train(tmp_path, "stage=tokenizer", "logger=wandb", "budget.tokenizer.max_steps=2",
                        data_dir=shared_data)
    train(cfg)
    runs = list((Path(cfg.paths.output_dir) / "wandb").glob("offline-run-*"))
    assert runs, "no offline W&B run directory"


@pytest.mark.slow
def test_compiled_tokenizer_trains_and_its_checkpoint_loads_as_an_eager_one(tmp_path, shared_data):
    import torch

    from genie.checkpoints import load_module

    cfg = compose_train(tmp_path, "stage=tokenizer", "compile=[tokenizer]", "budget.tokenizer.max_steps=3",
                        data_dir=shared_data)
    train(cfg)
    ckpt = read_world(Path(cfg.paths.output_dir))["tokenizer"]
    state = torch.load(ckpt, map_location="cpu", weights_only=True)
    assert state["global_step"] == 3
    assert not any("_orig_mod" in key for key in state["state_dict"])  # compiled in place: the eager keys
    assert load_module(ckpt, "tokenizer").net.num_codes > 0


def test_compile_names_an_unknown_stage_before_training(tmp_path, shared_data):
    from genie.errors import UserError

    cfg = compose_train(tmp_path, "compile=[tokeniser]", data_dir=shared_data)
    with pytest.raises(UserError, match=r"compile: unknown stage\(s\) \['tokeniser'\]"):
        train(cfg)
    assert not (Path(cfg.paths.output_dir) / "checkpoints").exists()
