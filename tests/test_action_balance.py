"""Training clips drawn with rare actions more often (model.dynamics.action_balance)."""

from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import SequentialSampler, WeightedRandomSampler

from genie.data.action_balance import ActionBalance, balance_weights
from genie.data.datamodule import ClipDataModule
from genie.data.token_store import TokenClips, TokenStore
from genie.errors import UserError
from genie.models.dynamics import DynamicsModule
from genie.training.pipeline import train
from tests.conftest import compose_train


def share_of(action: int, actions_N: np.ndarray, exponent: float) -> float:
    return float(balance_weights(actions_N, exponent)[actions_N == action].sum())


def test_the_exponent_moves_a_rare_action_from_its_share_of_the_data_to_an_equal_share():
    actions_N = np.array([0] * 90 + [1] * 10)
    assert share_of(1, actions_N, 0.0) == pytest.approx(0.1)
    assert share_of(1, actions_N, 0.5) == pytest.approx(np.sqrt(10) / (np.sqrt(90) + np.sqrt(10)))
    assert share_of(1, actions_N, 1.0) == pytest.approx(0.5)


def test_clips_of_unknown_action_weigh_as_much_as_the_mean_clip():
    weights = balance_weights(np.array([0, 0, 0, 1, -1]), 1.0)
    assert weights.sum() == pytest.approx(1.0)
    assert weights[4] == pytest.approx(weights[:4].mean())


def test_game_actions_are_balanced_by_the_effect_the_model_reads():
    balance = ActionBalance(3, 1.0, effect_of_action=(0, 1, 1, 2))
    assert balance.of_clips(np.array([[0], [1], [2], [3], [-1]])).tolist() == [0, 1, 1, 2, -1]


def test_with_history_a_change_of_action_is_its_own_class():
    balance = ActionBalance(3, 1.0, history=1)
    assert list(balance.positions) == [2, 3]
    pairs_NP = np.array([[0, 0]] * 8 + [[0, 1]] + [[1, 1]] * 8 + [[-1, 1]])  # held, started, held, unknown
    classes = balance.of_clips(pairs_NP)
    assert len(set(classes[:8])) == 1 and classes[8] not in (classes[0], classes[9]) and classes[17] == -1
    weights = balance_weights(classes, 1.0)
    assert weights[8] == pytest.approx(weights[:8].sum())  # the one start from rest drawn as often as 8 held steps


def token_store(root: Path, lengths=(12, 9), labelled=(True, False)) -> Path:
    store = TokenStore.create(root, {"tokenizer": "t.ckpt"})
    rng = np.random.default_rng(0)
    for i, (length, has_actions) in enumerate(zip(lengths, labelled)):
        store.add_episode(f"ep{i}", "train", rng.integers(0, 8, (length, 4, 4)), rng.integers(0, 4, length - 1),
                          rng.integers(0, 6, length - 1) if has_actions else None)
    store.mark_complete()
    return root


def test_each_clip_is_weighed_by_the_action_its_item_holds_at_the_position(tmp_path):
    clips = TokenClips(token_store(tmp_path), "train", clip_len=5)
    latent_N, true_N = clips.clip_actions("latent_actions", 3), clips.clip_actions("actions", 3)
    for i in range(len(clips)):
        item = clips[i]
        assert latent_N[i] == item["latent_actions"][3]
        assert true_N[i] == item["actions"][3]  # -1 in the episode without true actions
    assert (true_N == -1).sum() == 9 - 5 + 1


def test_the_training_loader_draws_rare_actions_as_often_as_common_ones(tmp_path):
    store = TokenStore.create(tmp_path, {"tokenizer": "t.ckpt"})
    latent = np.array([0] * 180 + [1] * 20)
    store.add_episode("ep", "train", np.zeros((201, 2, 2)), latent, None)
    store.add_episode("val", "val", np.zeros((20, 2, 2)), np.zeros(19), None)
    store.mark_complete()
    data = ClipDataModule(str(tmp_path), "tokens", 2, batch_size=50, balance=ActionBalance(0, 1.0))
    loader = data.train_dataloader()
    assert isinstance(loader.sampler, WeightedRandomSampler)
    torch.manual_seed(0)
    drawn = torch.cat([batch["latent_actions"][:, 0] for _ in range(5) for batch in loader])
    assert 0.4 < drawn.float().mean() < 0.6  # 0.1 of the data, about half of the draws
    assert isinstance(data.val_dataloader().sampler, SequentialSampler)
    pairs = ClipDataModule(str(tmp_path), "tokens", 3, batch_size=50,
                           balance=ActionBalance(1, 1.0, history=1))
    drawn = torch.cat([batch["latent_actions"] for _ in range(10) for batch in pairs.train_dataloader()])
    started = ((drawn[:, 0] == 0) & (drawn[:, 1] == 1)).float().mean()
    assert 0.25 < started < 0.42  # 1 clip of 199 starts action 1 after 0; a third of the draws (3 pairs seen)
    uniform = ClipDataModule(str(tmp_path), "tokens", 2, batch_size=50, balance=ActionBalance(0, 0.0))
    assert not isinstance(uniform.train_dataloader().sampler, WeightedRandomSampler)


def test_balance_is_for_token_clips_and_not_negative():
    with pytest.raises(ValueError, match="token clips"):
        ClipDataModule("store", "pixels", 5, 8, balance=ActionBalance(3, 0.5))
    with pytest.raises(UserError, match="model.dynamics.action_balance"):
        DynamicsModule({"num_codes": 8, "num_actions": 4}, action_balance=-1.0)
    with pytest.raises(UserError, match="model.dynamics.action_balance_history"):
        DynamicsModule({"num_codes": 8, "num_actions": 4, "window": 4}, action_balance=0.5, action_balance_history=4)


@pytest.mark.parametrize("net", [{}, {"unroll": 3, "action_history": 6}])
def test_the_weighed_action_is_the_one_of_the_first_predicted_transition(net):
    module = DynamicsModule({"num_codes": 8, "num_actions": 4, "window": 4, **net}, action_balance=0.5)
    balance = module.action_balance()
    assert balance.position == module.net.history_frames - 1 and balance.kind == "latent_actions"
    assert balance.history == 1 and balance.positions == range(balance.position - 1, balance.position + 1)
    game = DynamicsModule({"num_codes": 8, "num_actions": 4}, action_source="game", effect_of_action=[0, 1, 1, 2],
                          effect_names=["a", "b", "c"], action_balance=0.5)
    assert game.action_balance().kind == "actions" and game.action_balance().effect_of_action == (0, 1, 1, 2)


def test_the_default_dynamics_stage_draws_rare_pairs_more_often_through_the_real_config(tmp_path, trained_run,
                                                                                        shared_data):
    cfg = compose_train(tmp_path, "stage=dynamics", f"run.tokenizer={trained_run}", f"run.lam={trained_run}",
                        data_dir=shared_data)
    assert (cfg.model.dynamics.action_balance, cfg.model.dynamics.action_balance_history) == (0.5, 1)
    assert "dynamics/psnr_next" in train(cfg)
