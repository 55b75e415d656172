"""Finding, loading and cross-checking stage checkpoints.

A run directory holds ``world.json``: the checkpoint of every component the run trained or reused, so that one
directory is enough to load the whole world model. A later stage finds its inputs there, or in the run given by an
override such as ``run.tokenizer=<run dir or .ckpt>``, and checks they fit before training anything.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import lightning as L
import torch

from genie.data.store import atomic_write_bytes
from genie.errors import CheckpointMismatch, UserError
from genie.models.dynamics import DynamicsModule
from genie.models.lam import LAMModule
from genie.models.tokenizer import TokenizerModule

STAGES = ("tokenizer", "lam", "dynamics")
MODULES: dict[str, type[L.LightningModule]] = {
    "tokenizer": TokenizerModule, "lam": LAMModule, "dynamics": DynamicsModule,
}
WORLD_FILE = "world.json"


def read_world(run_dir: Path) -> dict[str, str]:
    path = Path(run_dir) / WORLD_FILE
    if not path.is_file():
        return {}
    entries = json.loads(path.read_text())
    return {k: str((path.parent / v).resolve()) if not Path(v).is_absolute() else v for k, v in entries.items()}


def record_in_world(run_dir: Path, key: str, path: Path | str) -> None:
    """Add/replace one entry of ``world.json`` (stored relative to the run dir when inside it)."""
    run_dir = Path(run_dir).resolve()
    entries = read_world(run_dir)
    path = Path(path).resolve()
    entries[key] = str(path)
    relative = {k: (str(Path(v).relative_to(run_dir)) if Path(v).is_relative_to(run_dir) else v)
                for k, v in entries.items()}
    atomic_write_bytes(run_dir / WORLD_FILE, json.dumps(relative, indent=1).encode())


def resolve_checkpoint(ref: str | Path, stage: str) -> Path:
    """``ref`` is a ``.ckpt`` file or a run directory; returns the checkpoint of ``stage``."""
    path = Path(ref).expanduser()
    if path.is_dir():
        entries = read_world(path)
        if stage not in entries:
            raise UserError(f"{path}: this run directory has no trained '{stage}' ({WORLD_FILE} lists {sorted(entries)})")
        path = Path(entries[stage])
    if not path.is_file():
        raise UserError(f"{path}: {stage} checkpoint not found")
    return path


def load_checkpoint(path: Path) -> dict[str, Any]:
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for a bad file: report them as one user error
        raise UserError(f"{path}: not a readable checkpoint ({type(e).__name__}: {str(e).splitlines()[0]})") from e
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt or "hyper_parameters" not in ckpt:
        raise UserError(f"{path}: not a mini-genie Lightning checkpoint (no state_dict/hyper_parameters)")
    return ckpt


def load_module(path: str | Path, stage: str) -> L.LightningModule:
    """Rebuild a stage's LightningModule from its checkpoint (weights only; no pickled code is run)."""
    path = Path(path)
    ckpt = load_checkpoint(path)
    cls = MODULES[stage]
    try:
        module = cls(**ckpt["hyper_parameters"])
        module.load_state_dict(ckpt["state_dict"])
    except (TypeError, ValueError, RuntimeError) as e:  # unknown settings, missing or misshapen weights
        raise CheckpointMismatch(f"{path}: not a {stage} checkpoint ({str(e).splitlines()[0]})") from e
    return module.eval()


def check_compatible(
    tokenizer: TokenizerModule | None, lam: LAMModule | None, dynamics: DynamicsModule | None,
    frame_size: int, paths: dict[str, Any],
) -> None:
    """Raise CheckpointMismatch naming the checkpoint and the value that disagrees. The LAM's and the dynamics
    model's history windows may differ: each reads its own number of frames from the same stream."""
    problems = []
    if tokenizer is not None and tokenizer.hparams.frame_size != frame_size:
        problems.append(f"tokenizer {paths.get('tokenizer')}: frame_size={tokenizer.hparams.frame_size}, "
                        f"data.frame_size={frame_size}")
    if lam is not None and lam.hparams.frame_size != frame_size:
        problems.append(f"lam {paths.get('lam')}: frame_size={lam.hparams.frame_size}, data.frame_size={frame_size}")
    if dynamics is not None:
        cfg = dynamics.net.cfg
        where = f"dynamics {paths.get('dynamics')}"
        if tokenizer is not None:
            if cfg.num_codes != tokenizer.net.num_codes:
                problems.append(f"{where}: codebook_size={cfg.num_codes}, tokenizer {paths.get('tokenizer')} "
                                f"has {tokenizer.net.num_codes} codes")
            if dynamics.hparams.token_grid != tokenizer.token_grid:
                problems.append(f"{where}: token grid {dynamics.hparams.token_grid}, tokenizer makes "
                                f"{tokenizer.token_grid}")
        latent = dynamics.hparams.action_source == "latent"
        if lam is not None and latent and cfg.num_actions != lam.net.num_actions:
            problems.append(f"{where}: num_actions={cfg.num_actions}, lam {paths.get('lam')} has "
                            f"{lam.net.num_actions}")
    if problems:
        raise CheckpointMismatch("incompatible checkpoints: " + "; ".join(problems))
