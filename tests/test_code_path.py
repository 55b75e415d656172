"""Held code paths (model.dynamics.code_hold_cost): the cheapest path through an episode's code distances with a cost
per change of code, and the dynamics stage whose token store and world label codes that way."""

import itertools
from pathlib import Path

import numpy as np
import pytest
import torch

from genie.checkpoints import read_world
from genie.data.token_store import TokenStore
from genie.errors import UserError
from genie.models.dynamics import DynamicsModule
from genie.nn.code_path import held_code_path
from genie.nn.latent_action_net import LatentActionConfig, LatentActionNet
from genie.training.pipeline import train
from genie.nn.pixels import to_model
from genie.world import WorldModel, history_windows, infer_latent_actions
from tests.conftest import compose_train


def flicker_distances() -> torch.Tensor:
    """Ten transitions near codes 0 and 1 alike (the nearest flips every step), then five clearly at code 2."""
    near = torch.tensor([[1.0, 1.1, 9.0], [1.1, 1.0, 9.0]]).repeat(5, 1)
    far = torch.tensor([[9.0, 9.0, 1.0]]).repeat(5, 1)
    return torch.cat([near, far])


def test_without_a_cost_the_path_is_each_transitions_nearest_code():
    d = torch.rand(40, 6)
    assert torch.equal(held_code_path(d, 0.0), d.argmin(1))


def test_a_cost_holds_a_flickering_code_but_keeps_a_clear_change():
    d = flicker_distances()
    assert held_code_path(d, 0.0).tolist() == [0, 1] * 5 + [2] * 5
    assert held_code_path(d, 1.0).tolist() == [0] * 10 + [2] * 5  # 5 flips cost more than 0.1 each, code 2 wins 8


def test_a_huge_cost_holds_one_code_and_any_cost_finds_the_cheapest_path():
    assert held_code_path(flicker_distances(), 1e6).unique().numel() == 1
    torch.manual_seed(0)
    d_TK = torch.rand(7, 3)
    two_nearest = d_TK.topk(2, 1, largest=False).values
    switch = 2.0 * float((two_nearest[:, 1] - two_nearest[:, 0]).median())

    def cost(path: list[int]) -> float:
        return float(d_TK[range(7), path].sum()) + switch * sum(a != b for a, b in zip(path, path[1:]))

    cheapest = min(cost(list(p)) for p in itertools.product(range(3), repeat=7))  # every path, by brute force
    assert cost(held_code_path(d_TK, 2.0).tolist()) == pytest.approx(cheapest)


def test_a_negative_cost_is_refused():
    with pytest.raises(ValueError, match="hold_cost"):
        held_code_path(torch.rand(3, 2), -1.0)
    with pytest.raises(UserError, match="model.dynamics.code_hold_cost"):
        DynamicsModule({"num_codes": 8, "num_actions": 4, "window": 2, "hidden": 16, "token_dim": 8, "action_dim": 8,
                        "dilations": [1]}, code_hold_cost=-0.5)


def test_an_episode_is_labelled_by_the_held_path_of_its_lam_distances_in_any_batching():
    torch.manual_seed(0)
    net = LatentActionNet(LatentActionConfig(window=2, history=1, lookahead=1, code_dim=8, hidden=16, downsamples=2,
                                             num_actions=4, warp=False, flow_block=1), 32).eval()
    frames = (torch.rand(12, 32, 32, 3) * 255).to(torch.uint8)
    assert torch.equal(infer_latent_actions(net, frames, hold_cost=0.0), infer_latent_actions(net, frames))
    held = infer_latent_actions(net, frames, batch=4, hold_cost=3.0)
    assert held.shape == (11,) and torch.equal(held, infer_latent_actions(net, frames, batch=64, hold_cost=3.0))
    distances = net.code_distances(history_windows(to_model(frames), 2, 1))
    assert torch.equal(distances.argmin(1), infer_latent_actions(net, frames))
    assert torch.equal(held, held_code_path(distances, 3.0))


def test_the_dynamics_stage_labels_its_token_store_and_world_with_held_paths(tmp_path, trained_run, shared_data):
    cfg = compose_train(tmp_path, "stage=dynamics", f"run.tokenizer={trained_run}", f"run.lam={trained_run}",
                        "model.dynamics.code_hold_cost=1e6", data_dir=shared_data)
    train(cfg)
    run = Path(cfg.paths.output_dir)
    tokens = TokenStore(read_world(run)["tokens"])
    assert tokens.header["code_hold_cost"] == 1e6
    assert Path(read_world(run)["tokens"]) != Path(read_world(trained_run)["tokens"])  # a store of its own
    for e in tokens.episodes("train"):
        assert len(np.unique(tokens.array(e["name"], "latent_actions"))) == 1  # one code held through each episode
    world = WorldModel.load(run)
    assert world.code_hold_cost == 1e6
    frames = torch.randint(0, 256, (1, 6, world.frame_size, world.frame_size, 3), dtype=torch.uint8)
    assert world.infer_actions(frames).unique().numel() == 1


def test_world_stage_co_training_refuses_held_paths(tmp_path, shared_data):
    cfg = compose_train(tmp_path, "stage=world", "model.dynamics.code_hold_cost=2", data_dir=shared_data)
    with pytest.raises(UserError, match="code_hold_cost"):
        train(cfg)
