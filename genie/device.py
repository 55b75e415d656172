"""The ``device`` setting (auto / cpu / cuda / cuda:N) shared by tokenisation, the report, eval, dream and play."""

from __future__ import annotations

import torch

from genie.errors import UserError


def pick_device(setting: str | None) -> str:
    """``auto`` (or None): the GPU when there is one, else the CPU; anything else must exist on this machine."""
    setting = str(setting or "auto")
    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(setting)
    except RuntimeError as e:
        raise UserError(f"device={setting}: not a device (use auto, cpu, cuda or cuda:N)") from e
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"device={setting}: this machine has no CUDA GPU (use device=auto or device=cpu)")
    if device.type not in ("cpu", "cuda"):
        raise UserError(f"device={setting}: only auto, cpu, cuda or cuda:N are supported")
    return str(device)
