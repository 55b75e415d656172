"""Validation metrics are computed in float32 outside autocast: bf16-mixed gives the fp32 value."""

import torch

from genie.models.tokenizer import TokenizerModule
from tests.conftest import compose_train


def ssim_of_fixed_reconstructions(module: TokenizerModule, autocast: bool) -> float:
    generator = torch.Generator().manual_seed(0)
    # smooth frames with small errors, like a good tokenizer's: where bf16 variances lose SSIM most
    coarse = torch.rand(32, 3, 8, 8, generator=generator)
    target = 0.25 + 0.5 * torch.nn.functional.interpolate(coarse, size=32, mode="bilinear")
    recon = (target + 0.01 * torch.randn(target.shape, generator=generator)).clamp(0, 1)
    codes = torch.zeros(8, dtype=torch.long)
    module.compute_loss = lambda batch: (torch.tensor(0.0), recon, {"codes": codes, "target": target})
    module.log = lambda *args, **kwargs: None
    module.val_ssim.reset()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        module.validation_step({}, 0)
    return float(module.val_ssim.compute())


def test_tokenizer_ssim_under_bf16_autocast_equals_fp32(tmp_path):
    cfg = compose_train(tmp_path)
    module = TokenizerModule(net=dict(cfg.model.tokenizer.net), frame_size=32)
    fp32 = ssim_of_fixed_reconstructions(module, autocast=False)
    bf16 = ssim_of_fixed_reconstructions(module, autocast=True)
    assert abs(fp32 - bf16) < 1e-3, (fp32, bf16)
