"""Every stage trains a few steps through the real Hydra config, alone and reusing earlier stages' checkpoints."""

import json
from pathlib import Path

import pytest

from genie.checkpoints import load_module, read_world
from genie.data.token_store import TokenStore
from genie.errors import CheckpointMismatch, UserError
from genie.training.pipeline import train
from tests.artefacts import check_artefact
from tests.conftest import compose_train


@pytest.mark.slow
def test_tokenizer_stage_alone_writes_its_checkpoint(tmp_path, shared_data):
    cfg = compose_train(tmp_path, "stage=tokenizer", data_dir=shared_data)
    metrics = train(cfg)  # the stage's validation metrics, no report
    assert "tokenizer/val/psnr" in metrics and not any(k.startswith("dynamics/") for k in metrics)
    world = read_world(Path(cfg.paths.output_dir))
    assert set(world) == {"tokenizer", "data"}
    tokenizer = load_module(world["tokenizer"], "tokenizer")
    assert tokenizer.hparams.frame_size == cfg.data.frame_size and tokenizer.net.num_codes > 0


@pytest.mark.parametrize("option", [(), ("model.lam.net.history=1",),
                                    ("model.lam.net.warp=true", "model.lam.net.flow_block=4")],
                         ids=["plain", "history_1", "warp"])
@pytest.mark.slow
def test_lam_stage_alone(tmp_path, shared_data, option):
    cfg = compose_train(tmp_path, "stage=lam", *option, data_dir=shared_data)
    train(cfg)
    lam = load_module(read_world(Path(cfg.paths.output_dir))["lam"], "lam")
    assert lam.net.num_actions == cfg.model.lam.net.num_actions


def test_dynamics_stage_reuses_an_earlier_run_and_dreams(tmp_path, trained_run, shared_data):
    cfg = compose_train(tmp_path, "stage=dynamics", f"run.tokenizer={trained_run}", f"run.lam={trained_run}",
                        data_dir=shared_data)
    metrics = train(cfg)
    run = Path(cfg.paths.output_dir)
    assert read_world(run)["tokenizer"] == read_world(trained_run)["tokenizer"]
    tokens = TokenStore(read_world(run)["tokens"])  # the store encoded once by the reused tokenizer and LAM
    assert tokens.complete and tokens.episodes("train")
    assert tokens.array(tokens.episodes("train")[0]["name"], "tokens").max() < load_module(
        read_world(run)["tokenizer"], "tokenizer").net.num_codes
    assert "dynamics/psnr_next" in metrics


def test_dynamics_without_a_tokenizer_says_what_is_missing(tmp_path, shared_data):
    cfg = compose_train(tmp_path, "stage=dynamics", data_dir=shared_data)
    with pytest.raises(UserError, match="needs a tokenizer"):
        train(cfg)


def test_checkpoint_of_the_wrong_stage_is_refused(tmp_path, trained_run, shared_data):
    lam_ckpt = read_world(trained_run)["lam"]
    cfg = compose_train(tmp_path, "stage=dynamics", f"run.tokenizer={lam_ckpt}", f"run.lam={trained_run}",
                        data_dir=shared_data)
    with pytest.raises(CheckpointMismatch, match="not a tokenizer checkpoint"):
        train(cfg)


def test_resume_continues_a_stage_from_its_last_checkpoint(tmp_path, trained_run, shared_data):
    last = trained_run / "checkpoints" / "dynamics" / "last.ckpt"
    assert last.is_file()
    cfg = compose_train(tmp_path, f"ckpt_path={last}", "budget.dynamics.max_steps=9", data_dir=shared_data)
    train(cfg)
    run = Path(cfg.paths.output_dir)
    world = read_world(run)
    assert world["tokenizer"] == read_world(trained_run)["tokenizer"]  # earlier stages reused, not retrained
    assert not (run / "checkpoints" / "tokenizer").exists()
    import torch

    resumed = torch.load(world["dynamics"], map_location="cpu", weights_only=True)
    assert resumed["global_step"] == 9


def test_each_stage_keeps_one_last_checkpoint_at_its_final_step(trained_run):
    """Both checkpoint callbacks (by steps and by time) write last.ckpt: one file, the newest, never last-v1.ckpt."""
    import torch

    for stage in ("tokenizer", "lam", "dynamics"):
        folder = trained_run / "checkpoints" / stage
        assert sorted(p.name for p in folder.glob("last*.ckpt")) == ["last.ckpt"], stage
        last = torch.load(folder / "last.ckpt", map_location="cpu", weights_only=True)
        final = torch.load(folder / "final.ckpt", map_location="cpu", weights_only=True)
        assert last["global_step"] == final["global_step"], stage


def test_pipeline_writes_every_artefact(trained_run):
    dream = trained_run / "dream"
    for name in ("dream.gif", "reconstruction.gif", "action_grid.gif", "latent_actions_tsne.png", "metrics.json"):
        check_artefact(dream / name)
    metrics = json.loads((dream / "metrics.json").read_text())
    for key in ("tokenizer/psnr", "tokenizer/ssim", "tokenizer/codebook_usage", "lam/codes_used", "lam/perplexity",
                "lam/action_nmi", "lam/effect_nmi", "dynamics/psnr_next", "dynamics/psnr_copy_baseline",
                "dynamics/token_accuracy", "dynamics/psnr_rollout_t16", "dynamics/delta_t_psnr"):
        assert key in metrics, key
    assert 0 < metrics["tokenizer/codebook_usage"] <= 1


@pytest.mark.parametrize("option", ["model/tokenizer=conv_vqvae", "model/tokenizer=st_vivit", "model/lam=conv",
                                    "model/dynamics=cnn", "model/dynamics=maskgit"])
def test_debug_tiny_sizes_every_model_option(tmp_path, option):
    """debug=tiny must shrink whichever net a model option picks (configs/debug/sizes), never pass it another
    kind's keys: every option composes and builds a small module."""
    from hydra.utils import instantiate

    cfg = compose_train(tmp_path, option)
    group = option.split("=")[0].split("/")[1]
    module = instantiate(cfg.model[group], _convert_="all")
    assert sum(p.numel() for p in module.parameters()) < 200_000
