"""The ``device`` setting (auto / cpu / cuda / cuda:N) shared by tokenisation, the report, eval, dream and play."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

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


@contextmanager
def one_thread_for_batch_one(batch: int, device: torch.device) -> Iterator[None]:
    """Run a batch of one on one CPU thread, then give the threads back. A batch-1 step is a few small kernels: a
    second OpenMP thread, woken for each of them (passive waiting, genie/cli.py), costs more than it computes
    (64 dreamed steps + decoding: 288 against 176 frames/s on a 2-core Xeon with AMX; 197 against 207 on a 2-core
    EPYC, docs/experiments/2026-12-05-time-to-world.md)."""
    threads = torch.get_num_threads()
    if batch != 1 or device.type != "cpu" or threads == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
