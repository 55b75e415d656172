"""The callbacks group per stage (genie/training/stage_trainer.py): an entry's ``stages`` gives it to those stages
only; entries without it go to every stage, with ``${fitting.stage}`` naming the stage being trained."""

from pathlib import Path

from lightning.pytorch.callbacks import EMAWeightAveraging

from genie.training.stage_progress import StageProgress
from genie.training.stage_trainer import stage_callbacks
from tests.conftest import compose_train

STAGES = ("tokenizer", "lam", "dynamics", "world")


def kinds(cfg, stage: str) -> set[type]:
    return {type(c) for c in stage_callbacks(cfg, stage, Path("checkpoints") / stage)}


def test_the_ema_entry_averages_the_dynamics_only(tmp_path):
    cfg = compose_train(tmp_path, "callbacks=[default,ema]")
    given = {stage: EMAWeightAveraging in kinds(cfg, stage) for stage in STAGES}
    assert given == {"tokenizer": False, "lam": False, "dynamics": True, "world": False}
    assert "stages" in cfg.callbacks.ema  # read per stage from a copy: the run's config keeps it


def test_stages_null_gives_a_callback_to_every_stage_and_a_list_to_those_named(tmp_path):
    every = compose_train(tmp_path, "callbacks=[default,ema]", "callbacks.ema.stages=null")
    assert all(EMAWeightAveraging in kinds(every, stage) for stage in STAGES)
    two = compose_train(tmp_path, "callbacks=[default,ema]", "callbacks.ema.stages=[tokenizer,lam]")
    assert [stage for stage in STAGES if EMAWeightAveraging in kinds(two, stage)] == ["tokenizer", "lam"]


def test_an_entry_without_stages_reads_the_stage_it_is_given_to(tmp_path):
    cfg = compose_train(tmp_path)
    for stage in STAGES:
        progress = next(c for c in stage_callbacks(cfg, stage, Path("ckpt")) if isinstance(c, StageProgress))
        assert progress.stage == stage


def test_the_longer_budget_averages_its_dynamics(tmp_path):
    cfg = compose_train(tmp_path, "experiment=coinrun_long")
    assert [stage for stage in STAGES if EMAWeightAveraging in kinds(cfg, stage)] == ["dynamics"]
    assert cfg.model.dynamics.action_balance == 0.5 and cfg.model.dynamics.action_balance_history == 1
