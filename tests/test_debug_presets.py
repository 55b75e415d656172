"""debug/ presets (fdr, overfit, profiler, limit) compose from the real configs and reach every stage's Trainer."""

from pathlib import Path

import pytest

from genie.checkpoints import read_world
from genie.training.pipeline import train
from genie.training.stage_trainer import trainer_arguments
from genie.world import WorldModel
from tests.conftest import compose_train

SYNTHETIC = ("data=synthetic", "data.frame_size=32", "data.episodes={train: 6, val: 2, test: 2}",
             "data.episode_len=24", "logger=none")


@pytest.mark.parametrize("preset, key, value", [("fdr", "fast_dev_run", True), ("overfit", "overfit_batches", 3),
                                                 ("profiler", "profiler", "simple"), ("limit", "max_steps", 20)])
def test_preset_sets_the_trainer_of_every_stage(tmp_path, preset, key, value):
    cfg = compose_train(tmp_path, f"debug={preset}")
    assert cfg.trainer[key] == value
    for stage in ("tokenizer", "lam", "dynamics", "world"):
        assert key not in trainer_arguments(cfg, stage)  # the stage budgets do not override it


def test_command_line_trainer_value_wins_over_the_stage_budget(tmp_path):
    cfg = compose_train(tmp_path, "trainer.max_steps=5", "budget.lam.max_steps=2")
    assert "max_steps" not in trainer_arguments(cfg, "lam") and cfg.trainer.max_steps == 5
    cfg = compose_train(tmp_path, "budget.lam.max_steps=2")
    assert trainer_arguments(cfg, "lam")["max_steps"] == 2 and trainer_arguments(cfg, "tokenizer")["max_steps"] == 6


@pytest.mark.slow
def test_fast_dev_run_trains_every_stage_and_leaves_a_world(tmp_path, shared_data):
    cfg = compose_train(tmp_path, "debug=fdr", *SYNTHETIC, data_dir=shared_data)
    train(cfg)
    run = Path(cfg.paths.output_dir)
    assert {"tokenizer", "lam", "dynamics"} <= set(read_world(run))
    assert WorldModel.load(run).num_actions == cfg.model.lam.net.num_actions  # the three stages load as one world
