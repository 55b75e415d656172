"""The composed config is logged as a tree once at the start of a run (rank 0), resolved, with the run's tags."""

import logging

import pytest

from genie.training.config_tree import config_tree
from genie.training.pipeline import train
from tests.conftest import compose_train


def test_the_tree_has_a_branch_per_group_and_the_top_level_values_last(tmp_path):
    tree = config_tree(compose_train(tmp_path, "tags=[ablation,lr]", "model.tokenizer.lr=0.002")).splitlines()
    assert tree[0] == "config"
    branches = [line[4:] for line in tree if line.startswith(("├── ", "└── "))]
    assert branches[:4] == ["data", "model", "stage", "optimizer"] and branches[-1] == "(top level)"
    assert "│   source: synthetic" in tree  # resolved values, indented under their branch
    assert "│     lr: 0.002" in tree
    assert f"│   output_dir: {tmp_path}/runs/run" in tree
    top = tree[tree.index("└── (top level)") + 1:]
    assert "    tags:" in top and "    - ablation" in top and "    seed: 42" in top


@pytest.mark.slow
def test_a_run_logs_the_tree_once_before_it_trains(tmp_path, caplog):
    with caplog.at_level(logging.INFO):
        train(compose_train(tmp_path, "stage=tokenizer"))
    trees = [r for r in caplog.records if r.name == "genie.training.config_tree"]
    assert len(trees) == 1 and trees[0].getMessage().startswith("config\n├── data")
    assert caplog.records.index(trees[0]) < min(i for i, r in enumerate(caplog.records) if "stage_progress" in r.name)
