"""The moved copy (model.dynamics.net.moved_copy): the last frame moved by the camera, made the same way from the
real frames for training and from the dream's own tokens in a rollout."""

import numpy as np
import pytest
import torch

from genie.data.token_store import TokenStore
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
            moved = moved_copy(tokenizer, tokens[:, -1], move)
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
    assert world.rollout(world.encode(frames), torch.zeros(1, 3, dtype=torch.long)).shape[1] == 7
