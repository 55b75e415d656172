"""A dynamics token embedding started from the tokenizer's codebook (model.dynamics.token_init=codebook)."""

import pytest
import torch
from omegaconf import OmegaConf

from genie.checkpoints import load_module
from genie.data.prepare import prepare_store
from genie.errors import UserError
from genie.models.dynamics import DynamicsModule
from genie.nn.codebook_embedding import codebook_embedding
from genie.training.pipeline import plan_components, train
from genie.training.stage_builders import RunInputs, build_dynamics
from tests.conftest import compose_train


def test_codes_that_look_alike_start_close_together():
    torch.manual_seed(0)
    centres_CD = torch.randn(4, 16) * 3
    codebook_KD = centres_CD.repeat_interleave(8, 0) + 0.1 * torch.randn(32, 16)  # 4 families of 8 look-alikes
    e_KE = codebook_embedding(codebook_KD, 4, rms=1.0)
    assert e_KE.shape == (32, 4)
    assert e_KE.pow(2).mean().sqrt().item() == pytest.approx(1.0, rel=1e-4)
    distances_KK = torch.cdist(e_KE, e_KE)
    family_K = torch.arange(32) // 8
    same_KK = family_K[:, None] == family_K[None]
    assert distances_KK[same_KK].max() < distances_KK[~same_KK].min()
    variance_E = e_KE.var(0)
    assert (variance_E[:-1] >= variance_E[1:]).all()  # the most varied directions first


def test_an_embedding_wider_than_the_codebook_is_refused():
    with pytest.raises(ValueError, match="dimension 16"):
        codebook_embedding(torch.randn(32, 16), 24, rms=1.0)


def test_the_module_takes_the_codebook_at_its_own_scale_and_checks_the_codes():
    module = DynamicsModule({"num_codes": 32, "num_actions": 4, "token_dim": 8}, token_init="codebook")
    rms = module.net.token_embedding.weight.pow(2).mean().sqrt().item()
    codebook_KD = torch.randn(32, 16)
    module.init_tokens_from_codebook(codebook_KD)
    assert torch.allclose(module.net.token_embedding.weight, codebook_embedding(codebook_KD, 8, rms))
    with pytest.raises(UserError, match="tokenizer has 64 codes, the dynamics 32"):
        module.init_tokens_from_codebook(torch.randn(64, 16))
    with pytest.raises(UserError, match="model.dynamics.token_init"):
        DynamicsModule({"num_codes": 32, "num_actions": 4}, token_init="pixels")


def test_the_dynamics_stage_starts_from_its_tokenizers_codebook_and_trains(tmp_path, trained_run, shared_data):
    overrides = ("stage=dynamics", f"run.tokenizer={trained_run}", f"run.lam={trained_run}",
                 "model.dynamics.token_init=codebook")
    cfg = compose_train(tmp_path, *overrides, data_dir=shared_data)
    components, _ = plan_components(cfg)
    store = prepare_store(OmegaConf.to_container(cfg.data, resolve=True))
    module = build_dynamics(RunInputs(cfg, tmp_path / "run", store, components)).module
    tokenizer = load_module(components["tokenizer"], "tokenizer")
    distances_KK = torch.cdist(module.net.token_embedding.weight, module.net.token_embedding.weight)
    codebook_KD = tokenizer.net.quantizer.codebook
    nearest_in_embedding = distances_KK.fill_diagonal_(float("inf")).argmin(1)
    nearest_in_codebook = torch.cdist(codebook_KD, codebook_KD).fill_diagonal_(float("inf")).argmin(1)
    assert (nearest_in_embedding == nearest_in_codebook).float().mean() > 0.8
    assert "dynamics/psnr_next" in train(compose_train(tmp_path / "trained", *overrides, data_dir=shared_data))
