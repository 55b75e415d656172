"""The optimiser and schedule of every stage: the optimizer / scheduler groups (AdamW, warm-up then cosine by
default), weight decay on matrices only, and a schedule that anneals by whichever budget runs out first."""

import time

import pytest
import torch

from tests.conftest import compose_train
from genie.models.optim import WarmupCosine, configure_optimization
from genie.training.stage_builders import build_module


def test_schedule_warms_up_then_decays_by_steps():
    schedule = WarmupCosine(warmup_steps=10, total_steps=110)
    assert schedule(0) == 0.1 and schedule(9) == 1.0
    assert abs(schedule(60) - 0.55) < 1e-6 and abs(schedule(110) - 0.1) < 1e-6


def test_schedule_anneals_when_the_time_budget_runs_out_first():
    schedule = WarmupCosine(warmup_steps=1, total_steps=10**9, time_budget_s=0.05)
    assert schedule(5) > 0.99
    time.sleep(0.06)
    assert abs(schedule(6) - 0.1) < 1e-6


def test_an_interruption_is_not_counted_as_training_time():
    schedule = WarmupCosine(warmup_steps=1, total_steps=10**9, time_budget_s=10.0, max_gap_s=0.01)
    schedule(5)
    time.sleep(0.05)  # longer than max_gap_s: a pause, not training
    assert schedule(6) > 0.99


def tokenizer_module(tmp_path, *overrides):
    cfg = compose_train(tmp_path, *overrides)
    return build_module(cfg.model.tokenizer, {"frame_size": 32})


def test_the_default_groups_give_adamw_at_the_models_lr_warming_up(tmp_path):
    module = tokenizer_module(tmp_path, "model.tokenizer.lr=0.002", "model.tokenizer.warmup_steps=10")
    setup = configure_optimization(module)
    optimizer, schedule = setup["optimizer"], setup["lr_scheduler"]["scheduler"]
    assert type(optimizer) is torch.optim.AdamW
    assert [g["initial_lr"] for g in optimizer.param_groups] == [0.002, 0.002]
    assert [tuple(g["betas"]) for g in optimizer.param_groups] == [(0.9, 0.999)] * 2
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.002 / 10)  # warm-up step 0 of 10
    assert isinstance(schedule.lr_lambdas[0], WarmupCosine) and schedule.lr_lambdas[0].final == 0.1


def test_weight_decay_reaches_only_parameters_of_rank_two_or_more(tmp_path):
    module = tokenizer_module(tmp_path, "model.tokenizer.weight_decay=0.05")
    decayed, plain = configure_optimization(module)["optimizer"].param_groups
    assert decayed["weight_decay"] == 0.05 and plain["weight_decay"] == 0.0
    assert decayed["params"] and all(p.ndim >= 2 for p in decayed["params"])
    assert plain["params"] and all(p.ndim < 2 for p in plain["params"])  # biases, norm scales
    trainable = [p for p in module.parameters() if p.requires_grad]
    assert len(decayed["params"]) + len(plain["params"]) == len(trainable)


def test_a_model_can_take_another_optimizer_from_the_command_line(tmp_path):
    sgd = "model.tokenizer.optimizer={_target_:torch.optim.SGD,_partial_:true,momentum:0.9}"
    module = tokenizer_module(tmp_path, sgd)
    optimizer = configure_optimization(module)["optimizer"]
    assert type(optimizer) is torch.optim.SGD and optimizer.param_groups[0]["momentum"] == 0.9
    assert module.hparams.optimizer["_target_"] == "torch.optim.SGD"  # kept in the checkpoint as plain data


def test_a_module_built_by_hand_optimises_with_adamw_and_the_warmup_cosine():
    from genie.models.lam import LAMModule

    module = LAMModule({"window": 2, "hidden": 8, "code_dim": 4, "downsamples": 1}, frame_size=16, lr=1e-3)
    setup = configure_optimization(module)
    assert type(setup["optimizer"]) is torch.optim.AdamW
    assert isinstance(setup["lr_scheduler"]["scheduler"].lr_lambdas[0], WarmupCosine)
