"""Long-play evaluation: the realism test, the CoinRun player detector, human-like policies, and the report."""

import json

import numpy as np
import pytest
import torch

from genie.eval.long_play import dream_at, human_like_actions, replayed_actions
from genie.eval.player_view import centre_box, off_centre_boxes
from genie.eval.realism import real_against_real, two_sample_score
from genie.nn.pixels import to_model
from genie.world import WorldModel
from tests.artefacts import png_image
from tests.play_worlds import ActionCount, BandDynamics, BlockTokenizer


def textured(n: int, seed: int, stripes: bool) -> torch.Tensor:
    """float [n, 3, 32, 32]: noisy frames, with bright vertical stripes where ``stripes``."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 3, 32, 32, generator=g) * 0.5
    if stripes:
        x[..., ::4] += 0.5
    return x


def test_realism_score_tells_a_different_distribution_apart_and_not_the_same_one():
    real = textured(256, 0, stripes=False)
    groups = torch.arange(128) % 16
    assert two_sample_score(textured(128, 1, stripes=True), real, groups, steps=150) > 0.9
    assert two_sample_score(textured(128, 2, stripes=False), real, groups, steps=150) < 0.7
    assert 0.3 < real_against_real(real, steps=150) < 0.7


def test_off_centre_boxes_never_overlap_the_player_box():
    frames = torch.zeros(4, 3, 64, 64)
    frames[..., 24:40, 24:40] = 1.0  # the centre box
    assert centre_box(frames).shape == (4, 3, 16, 16) and bool((centre_box(frames) == 1).all())
    boxes = off_centre_boxes(frames, per_frame=50, seed=0)
    assert boxes.shape == (200, 3, 16, 16) and float(boxes.max()) == 0.0


def test_human_like_policy_holds_each_latent_action_for_hold_frames():
    actions = human_like_actions(rollouts=6, steps=20, num_actions=8, hold=4, seed=0)
    assert actions.shape == (6, 20) and 0 <= int(actions.min()) and int(actions.max()) < 8
    blocks = actions.reshape(6, 5, 4)
    assert bool((blocks == blocks[..., :1]).all())  # constant within each held block
    assert len(torch.unique(actions[:, ::4])) > 3  # and drawn afresh between them


def test_replayed_actions_are_the_lams_codes_of_real_play_in_order(world, store):
    episodes = [e for e in store.episodes("test") if len(store.frames(e.name)) > world.window]
    stream = torch.cat([world.infer_actions(torch.from_numpy(store.frames(e.name))[None])[0] for e in episodes])
    actions = replayed_actions(world, store, "test", rollouts=3, steps=4)
    assert actions.shape == (3, 4) and torch.equal(actions.flatten(), stream[:12])
    repeated = replayed_actions(world, store, "test", rollouts=2, steps=len(stream))
    assert torch.equal(repeated[0], stream) and torch.equal(repeated[1], stream)  # too little play: played again


class IdentityWorld:
    """A 'tokenizer' that reconstructs perfectly: the detector then sees raw frames."""

    def encode(self, frames_BTHWC):
        return frames_BTHWC

    def decode(self, tokens_BTHWC):
        return to_model(tokens_BTHWC)


def test_player_detector_finds_the_player_on_held_out_coinrun_levels(tmp_path):
    pytest.importorskip("procgen", reason="procgen-mirror wheels exist only for CPython 3.11/3.12 on Linux x86-64")
    from genie.data.coinrun import generate_coinrun
    from genie.eval.player_view import fit_player_detector

    store = generate_coinrun(str(tmp_path), 64, {"train": 400, "val": 10, "test": 200},
                             {"train": 20, "val": 2, "test": 10}, max_episode_len=50, num_envs=4, hold=8)
    detector = fit_player_detector(IdentityWorld(), store, frames=384, seed=0)
    assert detector.in_view_real > 0.9 and detector.false_positive_rate < 0.1 and detector.accuracy > 0.9
    blank = torch.full((8, 3, 64, 64), 0.7)  # a frame that turned into one texture has no player
    assert not bool(detector.in_view(blank).any())


def test_the_report_scores_long_play_and_writes_its_gif(trained_run):
    metrics = json.loads((trained_run / "dream" / "metrics.json").read_text())
    for h in (4, 16):
        for group in ("human", "held", "replayed"):
            key = f"long_play/realism_{group}_t{h}"
            assert 0.0 <= metrics[key] <= 1.0, key
    assert 0.0 <= metrics["long_play/realism_real"] <= 1.0 and metrics["long_play/starts"] == 4
    assert 0.0 <= metrics["long_play/frozen_human_t16"] <= 1.0 and "long_play/frozen_held_t16" not in metrics
    assert "long_play/frozen_replayed_t16" not in metrics  # real play rests: standing still is no fault there
    assert "long_play/player_in_view_human_t16" not in metrics  # sprites, not CoinRun: no player detector
    import imageio.v3 as iio

    video = iio.imread(trained_run / "dream" / "long_play.gif")
    assert video.shape[0] == 16 + 1  # the start frame and every dreamed step
    assert png_image(trained_run / "dream" / "long_play_strip.png").shape[0] == video.shape[1]  # a row of its frames
    assert np.asarray(video).std() > 0


class CountingStillDynamics(BandDynamics):
    """Action 0 leaves the frame as it is; the others move their band. Counts the rows it is asked to step."""

    rows = 0

    def predict_next(self, tokens_BThw, actions_B, temperature=0.0, generator=None):
        self.rows += len(tokens_BThw)
        moved_Bhw = super().predict_next(tokens_BThw, actions_B, temperature, generator)
        return torch.where((actions_B == 0)[:, None, None], tokens_BThw[:, -1], moved_Bhw)


def test_dream_at_skips_rollouts_at_a_fixed_point_and_returns_what_stepping_them_would():
    dynamics = CountingStillDynamics(num_actions=4, num_codes=16)
    world = WorldModel(BlockTokenizer(16), ActionCount(4), dynamics, frame_size=32)
    context_RThw = torch.randint(0, 16, (6, 2, 8, 8))
    actions_RS = torch.tensor([[0] * 12, [1] * 12, [0] * 6 + [2] * 6, [3, 0] * 6, [0] * 3 + [1] + [0] * 8, [2] * 12])
    expected = world.rollout(context_RThw, actions_RS)[:, 2:]  # every row stepped every time
    dynamics.rows = 0
    kept = dream_at(world, context_RThw, actions_RS, keep=(1, 4, 8, 12), batch_size=4)
    for s, tokens_Rhw in kept.items():
        assert torch.equal(tokens_Rhw, expected[:, s - 1]), f"step {s}"
    assert dynamics.rows < 6 * 12 - 20  # the rows holding action 0 on a still history were not stepped
