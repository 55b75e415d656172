"""benchmarks/breakout_ball.py: a ball is a bright pixel of the playfield, at any frame size; seeds summarise."""

import numpy as np
import torch

from benchmarks.breakout_ball import shows_ball
from benchmarks.seeds import runs_by_name, seed_summary, seed_table


def frames_with_pixel(size, row, col, value=0.3):
    frames = torch.zeros(2, size, size, 3)
    frames[1, row, col, 0] = value
    return frames


def test_a_ball_in_the_playfield_is_seen_at_64_and_128_pixels():
    assert shows_ball(frames_with_pixel(64, 40, 30), 0.1).tolist() == [False, True]
    assert shows_ball(frames_with_pixel(128, 80, 60), 0.1).tolist() == [False, True]


def test_bricks_paddle_walls_and_faint_pixels_are_not_a_ball():
    for row, col in [(20, 30), (60, 30), (40, 1), (40, 62)]:  # bricks, paddle row, left and right wall
        assert not shows_ball(frames_with_pixel(64, row, col), 0.1).any()
    assert not shows_ball(frames_with_pixel(64, 40, 30, value=0.05), 0.1).any()


def test_seeds_are_summarised_by_name():
    runs = runs_by_name(["a=runs/1", "a=runs/2", "b=runs/3"])
    assert {k: [str(p) for p in v] for k, v in runs.items()} == {"a": ["runs/1", "runs/2"], "b": ["runs/3"]}
    per_run = {"a": {"runs/1": {"x": 1.0}, "runs/2": {"x": 3.0}}, "b": {"runs/3": {"x": 2.0, "y": None}}}
    summary = seed_summary(per_run, ["x", "y"])
    assert summary["a"]["x"]["mean"] == 2.0 and np.isclose(summary["a"]["x"]["std"], np.sqrt(2))
    assert summary["b"]["x"] == {"mean": 2.0, "std": None, "n": 1} and "y" not in summary["b"]
    table = seed_table(summary, ["x"])
    assert "| x | 2 ± 1.4 | 2 |" in table and "a (n=2)" in table


def test_the_128_pixel_preset_keeps_the_token_grid_and_the_lam_features_of_64_pixels():
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from genie.nn.conv_vqvae import ConvVQVAE, ConvVQVAEConfig
    from genie.nn.latent_action_net import LatentActionConfig, LatentActionNet
    from tests.conftest import CONFIGS

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=CONFIGS, version_base="1.3"):
        cfg = compose("train", overrides=["experiment=frames_128", "data=video_folder", "data.path=/tmp/videos",
                                          "paths.root_dir=/tmp/x"])
    GlobalHydra.instance().clear()
    assert cfg.data.frame_size == 128 and "_128px_" in cfg.data.store
    tokenizer = ConvVQVAE(ConvVQVAEConfig(**cfg.model.tokenizer.net))
    assert tokenizer.encode(torch.rand(1, 3, 128, 128)).shape == (1, 16, 16)
    lam = LatentActionNet(LatentActionConfig(**cfg.model.lam.net), frame_size=128)
    frames = torch.rand(2, lam.clip_len, 3, 128, 128)
    assert lam.infer(frames).shape == (2,) and lam(frames).prediction.shape == (2, 3, 128, 128)
