"""The latent action net's options: how much history it reads and the flow-warping decoder; LAM checkpoints."""

import dataclasses

import pytest
import torch

from genie.checkpoints import load_module
from genie.errors import UserError
from genie.models.lam import LAMModule, code_metrics
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


@pytest.mark.parametrize("lookahead", [0, 2])
def test_from_still_codes_the_change_against_the_same_history_standing_still(lookahead):
    """With ``from_still`` a clip in which nothing moves encodes to the zero vector whatever its picture, so what
    every clip of a game shares cannot crowd out a few changed pixels; two clips that differ only in what moved
    still get different vectors."""
    torch.manual_seed(0)
    cfg = LatentActionConfig(window=2, history=1, code_dim=8, hidden=16, downsamples=2, lookahead=lookahead,
                             from_still=True)
    net = LatentActionNet(cfg, 32).eval()
    still_BTCHW = torch.rand(3, 1, 3, 32, 32).expand(3, 3 + lookahead, 3, 32, 32).clone()
    assert torch.count_nonzero(net.embed(still_BTCHW)) == 0
    moved_BTCHW, moved_elsewhere_BTCHW = still_BTCHW.clone(), still_BTCHW.clone()
    moved_BTCHW[:, 2:, :, 10:14, 20:22] = 1.0  # a paddle-sized patch lights up in the next frames
    moved_elsewhere_BTCHW[:, 2:, :, 18:22, 20:22] = 1.0  # the same patch lower down, the same history
    z_BD = net.embed(moved_BTCHW)
    assert z_BD.abs().amax() > 0 and not torch.allclose(z_BD, net.embed(moved_elsewhere_BTCHW))
    plain = LatentActionNet(dataclasses.replace(cfg, from_still=False), 32).eval()
    plain.load_state_dict(net.state_dict())
    assert torch.count_nonzero(plain.embed(still_BTCHW)) > 0


@pytest.mark.parametrize("change", [0.01, 0.5])
def test_relative_loss_is_the_share_of_the_change_left_unexplained(change):
    """A warping LAM predicts x_t before training, so its relative reconstruction term is 1 however small the change
    between the frames; the plain term is the copy error itself."""
    torch.manual_seed(0)
    net = {"window": 2, "code_dim": 8, "hidden": 16, "downsamples": 2, "lookahead": 0}
    frames_BTHWC = torch.rand(4, 3, 32, 32, 3) * 0.5
    frames_BTHWC[:, 2] = frames_BTHWC[:, 1] + change * torch.rand(4, 32, 32, 3)
    batch = {"frames": (frames_BTHWC * 255).round().to(torch.uint8)}
    relative, plain = (LAMModule(net, frame_size=32, relative_loss=r).eval() for r in (True, False))
    plain.load_state_dict(relative.state_dict())
    (loss_relative, logs), (loss_plain, _) = relative.compute_loss(batch), plain.compute_loss(batch)
    vq_loss = loss_plain - logs["recon_mse"]
    assert torch.allclose(loss_relative - vq_loss, torch.tensor(1.0), atol=1e-4)
    assert logs["recon_mse"] > 0


def test_a_flow_block_that_does_not_divide_the_frame_is_refused_naming_its_key():
    with pytest.raises(UserError, match="model.lam.net.flow_block"):
        LatentActionNet(LatentActionConfig(warp=True, flow_block=5), 32)


def test_a_lam_checkpoint_with_an_option_this_version_does_not_have_is_refused_naming_its_file(tmp_path):
    torch.manual_seed(0)
    module = LAMModule({"window": 2, "code_dim": 8, "hidden": 16, "downsamples": 2}, frame_size=32)
    hparams = {**dict(module.hparams), "net": {**module.hparams.net, "expected_next": True}}
    torch.save({"state_dict": module.state_dict(), "hyper_parameters": hparams}, tmp_path / "other.ckpt")
    with pytest.raises(UserError, match=r"other\.ckpt: not a lam checkpoint .*expected_next"):
        load_module(tmp_path / "other.ckpt", "lam")


def test_code_pairs_of_a_single_validation_clip_are_one_dimensional():
    """A validation set of one clip (a short held-out block of one recording) still gives [N] codes and actions."""
    from genie.models.code_pairs import CodePairs

    pairs = CodePairs()
    pairs.update(torch.tensor([3]), torch.tensor([-1]))
    codes, true = pairs.compute()
    assert code_metrics(codes, true, 8) == {"codes_used": 1.0, "perplexity": pytest.approx(1.0)}


def test_a_lam_with_lookahead_reads_a_later_frame_and_labels_each_transition_with_the_furthest_one_it_has():
    from genie.world import infer_latent_actions

    torch.manual_seed(0)
    net = LatentActionNet(LatentActionConfig(window=2, history=1, lookahead=3, code_dim=8, hidden=16, downsamples=2,
                                             num_actions=4, warp=False, flow_block=1), 32).eval()
    assert net.clip_len == 2 + 1 + 3
    clip = torch.rand(2, net.clip_len, 3, 32, 32)
    z_far = net.embed(clip)
    changed = clip.clone()
    changed[:, -1] = 0  # the furthest frame: what labelling reads
    assert not torch.allclose(z_far, net.embed(changed))
    changed = clip.clone()
    changed[:, 3:5] = 0  # frames between the next and the furthest: not read
    assert torch.allclose(z_far, net.embed(changed))
    frames = (torch.rand(9, 32, 32, 3) * 255).to(torch.uint8)
    codes = infer_latent_actions(net, frames, batch=3)  # batches must not cut a transition's look-ahead short
    assert codes.shape == (8,) and torch.equal(codes, infer_latent_actions(net, frames, batch=64))
