"""Which float precision this machine computes fast: bf16 where the hardware does it natively, else fp32.
Imports no torch at import time: the entry points set OpenMP's environment before torch starts."""

from __future__ import annotations

import functools
from pathlib import Path


@functools.cache
def native_cpu_bf16() -> bool:
    """Whether the CPU computes bf16 natively (AVX-512 BF16 or AMX); emulated bf16 is 10-30x slower than fp32
    (measured on an AVX2-only EPYC: a conv VQ-VAE step went from 1.9 s to 38 s)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def cpu_precision() -> str:
    """Lightning's precision for CPU training: ``bf16-mixed`` where bf16 is native, else ``32-true``."""
    return "bf16-mixed" if native_cpu_bf16() else "32-true"


def fast_bf16(device) -> bool:
    """Whether bf16 autocast speeds inference up on ``device`` (a torch.device or its name): CUDA, or a CPU with
    native bf16."""
    import torch

    device = torch.device(device)
    return device.type == "cuda" or (device.type == "cpu" and native_cpu_bf16())


def cast_autocast_weights(module, dtype) -> None:
    """Store the weights of ``module``'s convolutions and linear layers in ``dtype``, in place: autocast to
    ``dtype`` casts exactly these on every call, so a model stepped frame by frame under autocast computes the same
    numbers without copying its weights each step. The module then runs under autocast only."""
    import torch

    for layer in module.modules():
        if isinstance(layer, (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d, torch.nn.Linear)):
            layer.to(dtype)
