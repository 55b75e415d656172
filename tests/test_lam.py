"""The latent action net's options: how much history it reads, the relative reconstruction error, the expected
next frame, and the flow-warping decoder."""

import pytest
import torch

from genie.errors import UserError
from genie.models.lam import relative_error
from genie.nn.latent_action_net import LatentActionConfig, LatentActionNet
from genie.nn.warp import warp


def test_warp_moves_pixels_along_the_flow():
    image_BCHW = torch.rand(1, 3, 8, 8)
    flow_B2HW = torch.zeros(1, 2, 8, 8)
    assert torch.allclose(warp(image_BCHW, flow_B2HW), image_BCHW, atol=1e-5)
    flow_B2HW[:, 0] = 1.0  # every output pixel samples one pixel to its right: the picture moves left
    assert torch.allclose(warp(image_BCHW, flow_B2HW)[..., :-1], image_BCHW[..., 1:], atol=1e-5)
    flow_B2HW[:, 0], flow_B2HW[:, 1] = 0.0, -2.0  # samples two rows up: the picture moves down
    assert torch.allclose(warp(image_BCHW, flow_B2HW)[..., 2:, :], image_BCHW[..., :-2, :], atol=1e-5)


@pytest.mark.parametrize("flow_block", [1, 8])
def test_warp_lam_starts_from_x_t_and_learns_to_move_it(flow_block):
    """A warping LAM predicts x_t before training; a few steps on a one-pixel scroll already beat copying x_t,
    with a flow per pixel or one per 8x8 block."""
    torch.manual_seed(0)
    net = LatentActionNet(LatentActionConfig(window=2, history=1, warp=True, flow_block=flow_block, code_dim=8,
                                             hidden=16, downsamples=2), 32)
    world_HW = torch.rand(3, 32, 48)
    frames_BTCHW = torch.stack([torch.stack([world_HW[:, :, s + t : s + t + 32] for t in range(3)])
                                for s in range(8)])  # each clip scrolls one pixel per frame
    assert torch.allclose(net(frames_BTCHW).prediction, frames_BTCHW[:, -2], atol=1e-5)
    copy_error = ((frames_BTCHW[:, -1] - frames_BTCHW[:, -2]) ** 2).mean()
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    for _ in range(60):
        loss = ((net(frames_BTCHW).prediction - frames_BTCHW[:, -1]) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss < 0.5 * copy_error


def test_lam_history_limits_what_encoder_and_decoder_read():
    """history=1: the code and the prediction depend on x_t and x_{t+1} only, whatever came before; a history
    outside 1..window is refused naming its key."""
    torch.manual_seed(0)
    net = LatentActionNet(LatentActionConfig(window=3, history=1, code_dim=8, hidden=16, downsamples=2), 32).eval()
    frames_BTCHW = torch.rand(2, 4, 3, 32, 32)
    older_changed = frames_BTCHW.clone()
    older_changed[:, :2] = torch.rand(2, 2, 3, 32, 32)
    out, out_changed = net(frames_BTCHW), net(older_changed)
    assert torch.equal(out.z, out_changed.z) and torch.equal(out.prediction, out_changed.prediction)
    latest_changed = frames_BTCHW.clone()
    latest_changed[:, 2] += 0.1
    assert not torch.allclose(net(latest_changed).prediction, out.prediction)
    with pytest.raises(UserError, match="model.lam.net.history"):
        LatentActionNet(LatentActionConfig(window=3, history=4))


def test_relative_error_weighs_each_clip_by_its_own_change():
    """The same squared error on a still clip counts far more than on a busy one; where nothing changes, the loss is
    the plain mean error."""
    frames_BTCHW = torch.zeros(2, 2, 3, 4, 4)
    frames_BTCHW[1, -1] = 0.5  # clip 1 changes (change 0.25), clip 0 does not
    still = relative_error(torch.tensor([0.01, 0.0]), frames_BTCHW, 0.01)  # the error is on clip 0
    busy = relative_error(torch.tensor([0.0, 0.01]), frames_BTCHW, 0.01)  # the error is on clip 1
    assert still > 10 * busy
    assert torch.isclose(relative_error(torch.tensor([0.02, 0.02]), torch.zeros(2, 2, 3, 4, 4), 0.01),
                         torch.tensor(0.02))


def test_expected_next_lam_encodes_the_surprise_and_decodes_onto_the_expectation():
    """With expected_next the history-only prediction is part of the LAM: the code reads the surprise, and an
    action's effect is added to the expectation (a zeroed decoder predicts exactly the expectation)."""
    torch.manual_seed(0)
    net = LatentActionNet(LatentActionConfig(window=2, code_dim=8, hidden=16, downsamples=2, expected_next=True), 32)
    frames_BTCHW = torch.rand(3, 3, 3, 32, 32)
    out = net(frames_BTCHW)
    assert out.expected.shape == (3, 3, 32, 32) and out.z.shape == (3, 8)
    torch.nn.init.zeros_(net.decoder[-1].weight)
    torch.nn.init.zeros_(net.decoder[-1].bias)
    assert torch.allclose(net(frames_BTCHW).prediction, out.expected)
    changed = frames_BTCHW.clone()
    changed[:, -1] += 0.1  # same history, different next frame: a different surprise
    assert not torch.allclose(net.embed(changed), out.z)


def test_a_flow_block_that_does_not_divide_the_frame_is_refused_naming_its_key():
    with pytest.raises(UserError, match="model.lam.net.flow_block"):
        LatentActionNet(LatentActionConfig(warp=True, flow_block=5), 32)
