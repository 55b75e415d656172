"""The moved copy (model.dynamics.net.moved_copy): the last frame moved by the camera, made the same way from the
real frames for training and from the dream's own tokens in a rollout."""

import numpy as np
import pytest
import torch

from genie.data.token_store import TokenStore
from genie.nn.camera import unseen_cells
from genie.nn.cnn_forecaster import CNNForecaster, CNNForecasterConfig
from genie.training.tokenize import moved_copies
from genie.world import WorldModel, moved_copy
from tests.conftest import compose_train
from tests.play_worlds import ActionCount
from tests.test_token_stability import BlockTokenizer, scrolling_store


def tiny(**options) -> CNNForecaster:
    torch.manual_seed(0)
    return CNNForecaster(CNNForecasterConfig(num_codes=16, num_actions=4, window=4, token_dim=8, hidden=16,
                                             action_dim=8, dilations=(1, 2), moved_copy=True, move_radius=5,
                                             **options))


def test_the_moved_copy_of_a_scroll_is_the_next_frame_but_the_edge_that_came_into_view(tmp_path):
    store = scrolling_store(tmp_path)  # 4 px right a frame for 5 frames, then still for 2
    frames = torch.from_numpy(np.array(store.frames(store.episodes("val")[0].name)))
    tokenizer = BlockTokenizer()
    tokens = tokenizer.encode(frames.movedim(-1, 1).float() / 255)
    moves, moved = moved_copies(tokenizer, frames, tokens, radius=5)
    assert moves.tolist() == [[4, 0]] * 5 + [[0, 0]] * 2
    assert (moved[:5, :, :-1] == tokens[1:6, :, :-1].numpy()).all()  # all but the column that came into view
    assert (moved[:5, :, -1] == tokens[:5, :, -1].numpy()).all()  # which repeats the old edge
    assert (moved[5:] == tokens[6:].numpy()).all()  # a still camera: the frame itself


def test_a_moved_copy_forecaster_learns_the_move_and_needs_the_copy():
    net = tiny()
    tokens, actions = torch.randint(0, 16, (3, 5, 8, 8)), torch.randint(0, 4, (3, 4))
    moves = torch.tensor([[[0, 0], [1, 0], [-2, 1], [7, -9]]] * 3)  # beyond the radius: the largest move
    moved = torch.randint(0, 16, (3, 4, 8, 8))
    loss, logs = net.compute_loss(tokens, actions, moves, moved)
    loss.backward()
    assert torch.isfinite(loss) and "move_accuracy" in logs and "token_accuracy" in logs
    assert net.move_head.mlp[-1].weight.grad.abs().sum() > 0 and net.moved_bias.grad is not None
    assert net.token_embedding.weight.grad is not None
    predicted = net.eval().predict_move(tokens[:, :4], actions[:, 3])
    assert predicted.shape == (3, 2) and predicted.abs().max() <= 5
    with pytest.raises(ValueError, match="moved copy"):
        net(tokens[:, :4], actions[:, 3])
    with pytest.raises(ValueError, match="moved_copy"):
        tiny(unroll=2)
    with pytest.raises(ValueError, match="moved copies"):
        tiny().compute_loss(tokens, actions)


def test_the_cells_a_move_brings_into_view_are_unseen_and_get_no_copy_prior():
    moves = torch.tensor([[0, 0], [4, 0], [5, 0], [-1, 0], [0, 9], [-4, -4]])
    unseen = unseen_cells(moves, h=8, w=8, cell_pixels=4)
    assert not unseen[0].any()
    assert unseen[1].all(0).tolist() == [False] * 7 + [True]  # 4 px right: the last column
    assert unseen[2].all(0).tolist() == [False] * 6 + [True] * 2  # 5 px touch two
    assert unseen[3].all(0).tolist() == [True] + [False] * 7  # 1 px left: the first
    assert unseen[4].all(1).tolist() == [False] * 5 + [True] * 3 and not unseen[4].all(0).any()
    assert unseen[5].sum() == 8 + 8 - 1  # the first row and the first column
    net = tiny(token_pixels=4).eval()
    hidden = net.hide_unseen(torch.zeros(6, 8, 8, dtype=torch.long), moves)
    assert ((hidden == net.unseen_code) == unseen).all()
    tokens, actions = torch.randint(0, 16, (6, 4, 8, 8)), torch.randint(0, 4, (6,))
    with torch.no_grad():
        without = net(tokens, actions, moved_Bhw=hidden)
        net.moved_bias += 100.0
        gained = net(tokens, actions, moved_Bhw=hidden) - without
    assert torch.allclose(gained[:, 0], 100.0 * (~unseen).float(), atol=1e-3)  # the copy's code 0, where seen
    assert gained[:, 1:].abs().max() < 1e-3


@pytest.mark.parametrize("bf16", [False, True])
def test_a_rollout_moves_its_own_last_frame_by_the_predicted_move(bf16):
    net = tiny().eval()
    tokenizer = BlockTokenizer()
    world = WorldModel(tokenizer, ActionCount(4), net, frame_size=32, bf16=bf16)
    context, actions = torch.randint(0, 16, (2, 4, 8, 8)), torch.randint(0, 4, (2, 5))
    dreamed = world.rollout(context, actions)
    tokens = context
    with torch.no_grad():
        for s in range(actions.shape[1]):
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                move = net.predict_move(tokens[:, -4:], actions[:, s])
            moved = net.hide_unseen(moved_copy(tokenizer, tokens[:, -1], move), move)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                nxt = net(tokens[:, -4:], actions[:, s], moved_Bhw=moved).argmax(1)
            tokens = torch.cat([tokens, nxt[:, None]], 1)
    assert torch.equal(dreamed, tokens)


def test_the_dynamics_stage_trains_on_a_token_store_with_moved_copies(tmp_path, trained_run, shared_data):
    from genie.checkpoints import read_world
    from genie.training.pipeline import train

    cfg = compose_train(tmp_path, "stage=dynamics", f"run.tokenizer={trained_run}", f"run.lam={trained_run}",
                        "model.dynamics.net.moved_copy=true", "stage.dream=false", data_dir=shared_data)
    train(cfg)
    paths = read_world(cfg.paths.output_dir)
    store = TokenStore(paths["tokens"])
    assert store.root.name.endswith("_moved") and store.has_moved_copy and store.complete
    episode = store.episodes("train")[0]
    assert store.array(episode["name"], "moved_tokens").shape == (episode["length"] - 1,
                                                                   *store.array(episode["name"], "tokens").shape[1:])
    saved = torch.load(paths["dynamics"], map_location="cpu", weights_only=True)
    assert saved["hyper_parameters"]["net"]["moved_copy"] is True
    world = WorldModel.load(cfg.paths.output_dir)
    frames = torch.randint(0, 256, (1, 4, world.frame_size, world.frame_size, 3), dtype=torch.uint8)
    context = world.encode(frames)
    assert saved["hyper_parameters"]["net"]["token_pixels"] == world.frame_size // context.shape[-1]
    assert world.rollout(context, torch.zeros(1, 3, dtype=torch.long)).shape[1] == 7
