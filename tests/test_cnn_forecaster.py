"""The CNN forecaster trained on its own rollouts (unroll)."""

import torch

from genie.nn.cnn_forecaster import CNNForecaster, CNNForecasterConfig
from tests.conftest import compose_train


def tiny(**options) -> CNNForecaster:
    torch.manual_seed(0)
    return CNNForecaster(CNNForecasterConfig(num_codes=16, num_actions=4, window=4, token_dim=8, hidden=16,
                                             action_dim=8, dilations=(1, 2), **options))


def test_unrolled_loss_feeds_back_the_models_own_predictions():
    net = tiny(unroll=3)
    assert net.clip_len == 7
    tokens, actions = torch.randint(0, 16, (2, 7, 8, 8)), torch.randint(0, 4, (2, 6))
    loss, logs = net.compute_loss(tokens, actions)
    loss.backward()
    assert "unrolled_loss" in logs and net.stem.weight.grad is not None
    # the loss of steps 2-3 depends on step 1's prediction, not on the real frame it replaces
    other = tokens.clone()
    other[:, 4] = (other[:, 4] + 1) % 16  # change only the first target
    _, other_logs = net.compute_loss(other, actions)
    assert torch.allclose(logs["unrolled_loss"], other_logs["unrolled_loss"])


def test_dynamics_stage_trains_on_clips_of_window_plus_unroll(tmp_path, trained_run, shared_data):
    from genie.checkpoints import read_world
    from genie.training.pipeline import train

    cfg = compose_train(tmp_path, "stage=dynamics", f"run.tokenizer={trained_run}", f"run.lam={trained_run}",
                        "model.dynamics.net.unroll=3", "stage.dream=false",
                        data_dir=shared_data)
    train(cfg)
    saved = torch.load(read_world(cfg.paths.output_dir)["dynamics"], map_location="cpu", weights_only=True)
    assert saved["hyper_parameters"]["net"]["unroll"] == 3


def test_dynamics_history_longer_than_the_lams_window(tmp_path, trained_run, shared_data):
    """The dynamics model reads its own number of history frames (model.dynamics.net.window) on the LAM of a run
    trained with another window; the world loads with the dynamics' window and dreams from it."""
    from genie.world import WorldModel
    from genie.training.pipeline import train

    cfg = compose_train(tmp_path, "stage=dynamics", f"run.tokenizer={trained_run}", f"run.lam={trained_run}",
                        "model.dynamics.net.window=6", "stage.dream=false", data_dir=shared_data)
    train(cfg)
    world = WorldModel.load(cfg.paths.output_dir)
    assert world.window == 6 and world.lam.cfg.window == cfg.window != 6
    frames = torch.randint(0, 256, (2, 6, world.frame_size, world.frame_size, 3), dtype=torch.uint8)
    tokens = world.rollout(world.encode(frames), torch.zeros(2, 3, dtype=torch.long))
    assert tokens.shape[:2] == (2, 9)


def test_a_forecaster_with_action_history_reads_past_actions_and_pads_unknown_ones():
    cfg = CNNForecasterConfig(num_codes=16, num_actions=4, window=2, token_dim=8, hidden=16, action_dim=8,
                              dilations=(1,), action_history=3)
    net = CNNForecaster(cfg).eval()
    assert net.clip_len == 3 + 1  # enough frames for the three actions of the first prediction
    tokens = torch.randint(0, 16, (2, 2, 4, 4))
    assert net.recent_actions(torch.tensor([1, 2])).tolist() == [[4, 4, 1], [4, 4, 2]]  # 4: UNKNOWN
    current_only = net(tokens, torch.tensor([1, 1]))
    with_past = net(tokens, torch.tensor([[0, 3, 1], [0, 3, 1]]))
    assert not torch.allclose(current_only, with_past)  # the past actions change the prediction
    loss, logs = net.train().compute_loss(torch.randint(0, 16, (2, net.clip_len, 4, 4)),
                                          torch.randint(0, 4, (2, net.clip_len - 1)))
    assert torch.isfinite(loss) and "token_accuracy" in logs

