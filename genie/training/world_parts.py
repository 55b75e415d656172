"""A co-trained world (stage ``world``) saved as the ordinary ``lam`` and ``dynamics`` checkpoints, so that
WorldModel.load, dream.py, evaluation and play read it like a world trained stage by stage."""

from __future__ import annotations

import io
from pathlib import Path

import torch

from genie.data.store import atomic_write_bytes

PARTS = ("lam", "dynamics")  # WorldTrainingModule attributes == stage names


def split_world_checkpoint(world_ckpt: str | Path, checkpoints_dir: Path) -> dict[str, Path]:
    """Write ``<checkpoints_dir>/<part>/final.ckpt`` for the LAM and the dynamics model of ``world_ckpt``: the part's
    weights (``lam.net.*`` -> ``net.*``) and its module's hyperparameters, what ``load_module`` reads."""
    ckpt = torch.load(world_ckpt, map_location="cpu", weights_only=True)
    written = {}
    for part in PARTS:
        prefix = f"{part}."
        state_dict = {k[len(prefix) :]: v for k, v in ckpt["state_dict"].items() if k.startswith(prefix)}
        buffer = io.BytesIO()
        torch.save({"state_dict": state_dict, "hyper_parameters": ckpt["hyper_parameters"][part],
                    "global_step": ckpt["global_step"], "trained_in": str(world_ckpt)}, buffer)
        written[part] = checkpoints_dir / part / "final.ckpt"
        atomic_write_bytes(written[part], buffer.getvalue())
    return written
