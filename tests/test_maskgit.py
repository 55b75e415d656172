"""MaskGIT dynamics: causal in time, actions aligned as in DESIGN §3, the same interface as the CNN forecaster."""

import json
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.utils import instantiate

from genie.checkpoints import read_world
from genie.models.dynamics import build_dynamics_net
from genie.nn.maskgit import MaskGITConfig, MaskGITDynamics
from genie.training.pipeline import train
from tests.artefacts import gif_frames
from tests.conftest import CONFIGS, compose_train

K, A, W, GRID = 32, 4, 4, 8  # the debug=tiny world: 32 codes, 4 latent actions, window 4, 8x8 tokens
TINY_NET = {"num_codes": K, "num_actions": A, "window": W, "d_model": 32, "layers": 2, "heads": 2, "max_grid": GRID,
            "decode_steps": 4}
# debug=tiny sizes the transformer through configs/debug/sizes/tiny_dynamics_maskgit.yaml
TINY_MASKGIT_OVERRIDES = ("model/dynamics=maskgit",)


def tiny_maskgit(**overrides) -> MaskGITDynamics:
    torch.manual_seed(0)
    return MaskGITDynamics(MaskGITConfig(**{**TINY_NET, **overrides})).eval()


def random_clip(batch: int = 3, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """tokens int64 [B, W + 1, GRID, GRID], actions int64 [B, W]."""
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, K, (batch, W + 1, GRID, GRID), generator=g), torch.randint(0, A, (batch, W), generator=g)


@pytest.mark.parametrize("patch", [1, 2])
@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_changing_frame_k_or_later_actions_never_changes_an_earlier_prediction(patch, k):
    model = tiny_maskgit(patch=patch, targets="all")  # every frame after the first has masked tokens
    tokens, actions = random_clip()
    masked = model.sample_mask(tokens)[0]
    changed_tokens, changed_masked, changed_actions = tokens.clone(), masked.clone(), actions.clone()
    changed_tokens[:, k:] = (tokens[:, k:] + 1) % K
    changed_masked[:, k:] = ~masked[:, k:]
    changed_actions[:, k - 1 :] = (actions[:, k - 1 :] + 1) % A  # actions[:, k-1] produces frame k
    with torch.no_grad():
        logits = model(tokens, masked, actions)  # [B, W, h, w, K]: frames 1..W
        changed = model(changed_tokens, changed_masked, changed_actions)
    earlier = slice(0, k - 1)  # frames 1..k-1
    torch.testing.assert_close(changed[:, earlier], logits[:, earlier], rtol=0, atol=1e-5)
    assert not torch.allclose(changed[:, k - 1], logits[:, k - 1], atol=1e-3)  # frame k itself does change


@pytest.mark.parametrize("t", [0, 1, 2, 3])
def test_action_t_conditions_frame_t_plus_1_and_nothing_before_it(t):
    model = tiny_maskgit(targets="all")  # every frame after the first has masked tokens
    tokens, actions = random_clip()
    masked = model.sample_mask(tokens)[0]
    changed_actions = actions.clone()
    changed_actions[:, t] = (actions[:, t] + 1) % A
    with torch.no_grad():
        logits, changed = model(tokens, masked, actions), model(tokens, masked, changed_actions)
    # logits[:, i] are frame i + 1's: frames <= t are untouched, frame t + 1 moves with a_t
    torch.testing.assert_close(changed[:, :t], logits[:, :t], rtol=0, atol=1e-5)
    assert not torch.allclose(changed[:, t], logits[:, t], atol=1e-3)


def test_visible_history_needs_no_actions_only_the_predicted_frame_does():
    """With targets="last" the history is fully visible, as in ``predict_next``, which is given only a_t."""
    model = tiny_maskgit(targets="last")
    tokens, actions = random_clip()
    masked = model.sample_mask(tokens)[0]
    history_actions, last_action = actions.clone(), actions.clone()
    history_actions[:, :-1] = (actions[:, :-1] + 1) % A
    last_action[:, -1] = (actions[:, -1] + 1) % A
    with torch.no_grad():
        logits = model(tokens, masked, actions)
        torch.testing.assert_close(model(tokens, masked, history_actions), logits, rtol=0, atol=0)
        assert not torch.allclose(model(tokens, masked, last_action)[:, -1], logits[:, -1], atol=1e-3)


def test_cached_one_step_decoding_matches_the_full_causal_pass():
    """predict_next encodes the history once and extends its time-attention cache by one frame: with one decoding
    pass its answer is the argmax of a full teacher-forced pass with the last frame fully masked."""
    model = tiny_maskgit(patch=2, decode_steps=1)
    tokens, actions = random_clip()
    masked = torch.zeros_like(tokens, dtype=torch.bool)
    masked[:, -1] = True
    with torch.no_grad():
        full = model(tokens, masked, actions)[:, -1].argmax(-1)
    assert torch.equal(model.predict_next(tokens[:, :-1], actions[:, -1]), full)


@pytest.mark.parametrize("kind,net", [
    ("cnn", {"num_codes": K, "num_actions": A, "window": W, "token_dim": 8, "hidden": 32, "action_dim": 8,
             "dilations": [1, 2]}),
    ("maskgit", {**TINY_NET, "schedule": "cosine", "targets": "all"}),
    ("maskgit", {**TINY_NET, "schedule": "linear", "targets": "last", "patch": 2}),
])
@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_every_dynamics_net_has_the_same_interface(kind, net, temperature):
    model = build_dynamics_net(kind, net)
    assert (model.cfg.num_codes, model.cfg.num_actions, model.cfg.window) == (K, A, W)
    tokens, actions = random_clip()
    loss, logs = model.compute_loss(tokens, actions)
    assert loss.ndim == 0 and torch.isfinite(loss) and "token_accuracy" in logs
    loss.backward()
    generator = torch.Generator().manual_seed(0)
    nxt = model.predict_next(tokens[:, :W], actions[:, -1], temperature, generator)
    assert nxt.dtype == torch.int64 and nxt.shape == (3, GRID, GRID)
    assert 0 <= int(nxt.min()) and int(nxt.max()) < K


@pytest.mark.parametrize("targets,predicted", [("all", [1, 2, 3, 4]), ("last", [4])])
def test_mask_rate_is_drawn_per_sample_in_half_to_one(targets, predicted):
    model = tiny_maskgit(targets=targets)
    tokens = torch.zeros(256, W + 1, GRID, GRID, dtype=torch.long)
    masked, rate = model.sample_mask(tokens)
    assert rate.shape == (256,) and float(rate.min()) >= 0.5 and float(rate.max()) <= 1.0
    assert rate.std() > 0.1  # one rate per sample, not one per batch
    fraction = masked.float().mean(dim=(2, 3))  # [B, T]
    expected = torch.ceil(rate * GRID * GRID) / (GRID * GRID)
    for t in range(W + 1):
        if t in predicted:
            torch.testing.assert_close(fraction[:, t], expected)
        else:
            assert not masked[:, t].any()


def test_temperature_zero_decoding_is_deterministic_and_sampling_follows_the_generator():
    model = tiny_maskgit()
    tokens, actions = random_clip()
    history, action = tokens[:, :W], actions[:, -1]
    assert torch.equal(model.predict_next(history, action), model.predict_next(history, action, 0.0))

    def sample(seed: int) -> torch.Tensor:
        return model.predict_next(history, action, 1.0, torch.Generator().manual_seed(seed))

    assert torch.equal(sample(3), sample(3))
    assert not torch.equal(sample(3), sample(4))


def test_unknown_schedule_is_a_clear_error():
    with pytest.raises(ValueError, match="schedule='square'"):
        tiny_maskgit(schedule="square")


def test_maskgit_dynamics_stage_trains_through_hydra_and_dreams(tmp_path, trained_run, shared_data):
    cfg = compose_train(tmp_path, "stage=dynamics", f"run.tokenizer={trained_run}", f"run.lam={trained_run}",
                        *TINY_MASKGIT_OVERRIDES, data_dir=shared_data)
    metrics = train(cfg)
    run = Path(cfg.paths.output_dir)
    world = read_world(run)
    assert world["tokenizer"] == read_world(trained_run)["tokenizer"]
    hparams = torch.load(world["dynamics"], map_location="cpu", weights_only=True)["hyper_parameters"]
    assert hparams["kind"] == "maskgit"
    gif_frames(run / "dream" / "dream.gif")
    assert "dynamics/psnr_next" in json.loads((run / "dream" / "metrics.json").read_text())
    assert "dynamics/psnr_next" in metrics


def test_gpu_preset_builds_a_one_token_per_position_maskgit():
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=CONFIGS, version_base="1.3"):
        cfg = compose("train", overrides=["experiment=coinrun_maskgit_gpu", "stage=dynamics"])
    GlobalHydra.instance().clear()
    module = instantiate(cfg.model.dynamics, _convert_="all")
    assert isinstance(module.net, MaskGITDynamics) and module.net.cfg.patch == 1
    assert cfg.trainer.accelerator == "gpu"
