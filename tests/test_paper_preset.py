"""experiment=genie_coinrun_paper: composes at full size with the paper's settings, and at debug=tiny sizes every
stage trains a few steps on CPU and the world loads."""

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from genie.training.pipeline import train
from genie.world import WorldModel
from tests.conftest import CONFIGS, compose_train


def test_paper_preset_has_the_papers_layout():
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=CONFIGS, version_base="1.3"):
        cfg = compose("train", overrides=["experiment=genie_coinrun_paper"])
    GlobalHydra.instance().clear()
    tokenizer, dynamics = cfg.model.tokenizer.net, cfg.model.dynamics.net
    assert (tokenizer.d_model, tokenizer.encoder_layers, tokenizer.decoder_layers, tokenizer.patch,
            tokenizer.num_codes) == (512, 8, 8, 4, 1024)
    assert (dynamics.d_model, dynamics.layers, dynamics.decode_steps) == (512, 12, 25)
    assert cfg.model.lam.net.num_actions == 6 and cfg.window + 1 == 16 == cfg.model.tokenizer.clip_len
    assert cfg.data.distribution_mode == "hard" and cfg.trainer.strategy == "ddp"
    assert cfg.trainer.precision == "bf16-mixed"


@pytest.mark.slow
def test_paper_preset_at_tiny_sizes_trains_every_stage_and_loads(tmp_path, shared_data):
    cfg = compose_train(tmp_path, "experiment=genie_coinrun_paper", "trainer=cpu", "trainer.precision=32-true",
                        "data=synthetic", "data.frame_size=32", "data.episodes={train: 6, val: 2, test: 2}",
                        "data.episode_len=24", "stage.dream=false", data_dir=shared_data)
    assert cfg.model.tokenizer.net.d_model == 32  # debug=tiny sized the nets
    train(cfg)
    world = WorldModel.load(Path(cfg.paths.output_dir))
    assert world.num_actions == cfg.model.lam.net.num_actions and world.window == 15
