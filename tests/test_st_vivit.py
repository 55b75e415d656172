"""The ST-ViViT tokenizer: the conv tokenizer's interface, causal in time, and trainable through the real config."""

import csv
from pathlib import Path

import pytest
import torch

from genie.checkpoints import load_module, read_world
from genie.models.tokenizer import build_tokenizer_net
from genie.nn.conv_vqvae import ConvVQVAE, ConvVQVAEConfig
from genie.nn.st_vivit import STViViT, STViViTConfig, patchify, unpatchify
from genie.training.pipeline import train
from genie.world import WorldModel
from tests.artefacts import gif_frames, metrics_file
from tests.conftest import compose_train

SMALL = STViViTConfig(num_codes=32, code_dim=8, d_model=32, heads=2, encoder_layers=1, decoder_layers=1)

# debug=tiny sizes the ST-ViViT through configs/debug/sizes/tiny_tokenizer_st_vivit.yaml
TINY_ST_VIVIT = ("model/tokenizer=st_vivit",)


def trained_on(x_NCHW: torch.Tensor, net: STViViT) -> STViViT:
    """One training-mode pass seeds the codebook on encoder outputs, so that tokens vary with the input."""
    net.train()(x_NCHW)
    return net.eval()


@pytest.mark.parametrize("net", [ConvVQVAE(ConvVQVAEConfig(num_codes=32, code_dim=8, hidden=8, stem="strided")),
                                 ConvVQVAE(ConvVQVAEConfig(num_codes=32, code_dim=8, hidden=8, stem="patch")),
                                 STViViT(SMALL)],
                         ids=["conv_strided", "conv_patch", "st_vivit"])
def test_st_vivit_has_the_conv_tokenizers_interface(net):
    x_BCHW = torch.rand(2, 3, 64, 64)
    net = trained_on(x_BCHW, net)
    assert net.num_codes == 32 and net.grid_size(64) == 16
    recon_BCHW, vq = net(x_BCHW)
    assert recon_BCHW.shape == (2, 3, 64, 64) and vq.codes.shape == (2 * 16 * 16,)
    out, (B, h, w) = net.quantize(x_BCHW)
    assert (B, h, w) == (2, 16, 16) and out.quantized.shape == (2 * 16 * 16, 8)
    tokens_Bhw = net.encode(x_BCHW)
    assert tokens_Bhw.shape == (2, 16, 16) and tokens_Bhw.dtype == torch.int64
    assert 0 <= tokens_Bhw.min() and tokens_Bhw.max() < 32
    frames_BCHW = net.decode(tokens_Bhw)
    assert frames_BCHW.shape == (2, 3, 64, 64) and 0 <= frames_BCHW.min() and frames_BCHW.max() <= 1


def test_the_patch_stem_sees_each_token_s_own_pixel_patch_through_its_encoder():
    """A token of the patch stem depends on its 4x4 pixel patch (and, through 3x3 residual blocks, on neighbours)
    but never on pixels far away: changing the far corner leaves the first token's encoder vector unchanged."""
    torch.manual_seed(0)
    net = ConvVQVAE(ConvVQVAEConfig(num_codes=32, code_dim=8, hidden=8, res_blocks=1, stem="patch"))
    x_BCHW = torch.rand(1, 3, 64, 64)
    far = x_BCHW.clone()
    far[..., 32:, 32:] = 0.5
    near = x_BCHW.clone()
    near[..., :4, :4] = 0.5
    z = net.encoder(x_BCHW * 2 - 1)[..., 0, 0]
    assert torch.equal(net.encoder(far * 2 - 1)[..., 0, 0], z)
    assert not torch.allclose(net.encoder(near * 2 - 1)[..., 0, 0], z)


def test_an_unknown_tokenizer_stem_is_named():
    with pytest.raises(ValueError, match="stem.*'pixels'"):
        ConvVQVAE(ConvVQVAEConfig(stem="pixels"))


def test_patchify_is_undone_by_unpatchify():
    x_BTCHW = torch.rand(2, 3, 3, 32, 48)
    patches_BTNP = patchify(x_BTCHW, 4)
    assert patches_BTNP.shape == (2, 3, 8 * 12, 3 * 4 * 4)
    assert torch.equal(patches_BTNP[0, 0, 1], x_BTCHW[0, 0, :, :4, 4:8].flatten())  # row 0, column 1
    assert torch.equal(unpatchify(patches_BTNP, 8, 12, 4), x_BTCHW)


def test_a_single_frame_is_tokenised_as_the_first_frame_of_a_clip():
    torch.manual_seed(0)
    x_BTCHW = torch.rand(2, 3, 3, 32, 32)
    net = trained_on(x_BTCHW.flatten(0, 1), STViViT(SMALL))
    tokens_BThw = net.encode_clip(x_BTCHW)
    assert tokens_BThw.shape == (2, 3, 8, 8)
    assert torch.equal(net.encode(x_BTCHW[:, 0]), tokens_BThw[:, 0])
    assert torch.allclose(net.decode(tokens_BThw[:, 0]), net.decode_clip(tokens_BThw)[:, 0], atol=1e-6)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_changing_frame_k_never_changes_earlier_frames(k):
    torch.manual_seed(k)
    x_BTCHW = torch.rand(2, 4, 3, 32, 32)
    net = trained_on(x_BTCHW.flatten(0, 1), STViViT(SMALL))
    changed_BTCHW = x_BTCHW.clone()
    changed_BTCHW[:, k] = torch.rand_like(changed_BTCHW[:, k])
    tokens_BThw, changed_tokens_BThw = net.encode_clip(x_BTCHW), net.encode_clip(changed_BTCHW)
    assert torch.equal(changed_tokens_BThw[:, :k], tokens_BThw[:, :k])
    assert not torch.equal(changed_tokens_BThw[:, k], tokens_BThw[:, k])  # the change itself is seen
    # the decoder too: pixels of frames < k depend on tokens of frames < k only
    mixed_BThw = torch.cat([tokens_BThw[:, :k], changed_tokens_BThw[:, k:]], dim=1)
    frames_BTCHW, mixed_frames_BTCHW = net.decode_clip(tokens_BThw), net.decode_clip(mixed_BThw)
    assert torch.allclose(mixed_frames_BTCHW[:, :k], frames_BTCHW[:, :k], atol=1e-6)
    assert not torch.allclose(mixed_frames_BTCHW[:, k], frames_BTCHW[:, k], atol=1e-3)


def test_frames_larger_than_the_position_embeddings_are_a_clear_error():
    with pytest.raises(ValueError, match="max_grid"):
        STViViT(SMALL).encode(torch.rand(1, 3, 68, 68))


def test_a_setting_of_the_other_tokenizer_is_named_in_the_error():
    with pytest.raises(ValueError, match=r"\['hidden'\] are not settings of the st_vivit tokenizer"):
        build_tokenizer_net("st_vivit", {"hidden": 16})


def logged(run: Path, stage: str) -> list[dict[str, str]]:
    (metrics_csv,) = (run / "logs" / stage).glob("version_*/metrics.csv")
    return list(csv.DictReader(metrics_csv.open()))


@pytest.mark.slow
def test_tokenizer_stage_trains_st_vivit_on_clips(tmp_path, shared_data):
    cfg = compose_train(tmp_path, "stage=tokenizer", *TINY_ST_VIVIT, data_dir=shared_data)
    assert cfg.model.tokenizer.clip_len == 4
    train(cfg)
    run = Path(cfg.paths.output_dir)
    tokenizer = load_module(read_world(run)["tokenizer"], "tokenizer")
    assert isinstance(tokenizer.net, STViViT)
    assert tokenizer.hparams.clip_len == 4 and tokenizer.token_grid == 8  # 32x32 tiny frames, patch 4
    validated = [row for row in logged(run, "tokenizer") if row.get("val/psnr_framewise")]
    assert validated and all(float(row["val/psnr"]) > 0 for row in validated)


@pytest.mark.slow
def test_every_stage_runs_on_st_vivit_tokens_and_dreams(tmp_path, shared_data):
    cfg = compose_train(tmp_path, "stage=all", *TINY_ST_VIVIT, data_dir=shared_data)
    assert "tokenizer/psnr" in train(cfg)
    run = Path(cfg.paths.output_dir)
    for name in ("dream.gif", "reconstruction.gif", "action_grid.gif"):
        gif_frames(run / "dream" / name)
    metrics_file(run / "dream" / "metrics.json", "tokenizer/psnr", "dynamics/psnr_next")
    world = WorldModel.load(run)
    assert isinstance(world.tokenizer, STViViT)
    frames_BTHWC = torch.randint(0, 256, (1, 3, 32, 32, 3), dtype=torch.uint8)
    assert world.decode(world.encode(frames_BTHWC)).shape == (1, 3, 3, 32, 32)
