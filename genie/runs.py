"""Locating runs: the latest run directory with a complete world model, and the episode store it was trained on."""

from __future__ import annotations

from pathlib import Path

from genie.checkpoints import WORLD_FILE, read_world
from genie.data.store import EpisodeStore
from genie.errors import UserError

CHECKOUT = Path(__file__).resolve().parents[1]  # the checkout this package runs from (site-packages for a wheel)


def find_run(run: str | None, log_dir: str) -> Path:
    """``run`` if given (must hold a world.json), else the most recently completed run under ``log_dir``."""
    if run:
        path = Path(run).expanduser()
        if not (path / WORLD_FILE).is_file():
            raise UserError(f"run={run}: no {WORLD_FILE} there; point at a directory made by train.py")
        return path
    complete = [
        p.parent for p in Path(log_dir).expanduser().glob(f"**/{WORLD_FILE}")
        if {"tokenizer", "lam", "dynamics"} <= set(read_world(p.parent))
    ]
    if not complete:
        raise UserError(f"no trained run under {log_dir}: train one with `python train.py` or pass run=<run dir>")
    return max(complete, key=lambda p: (p / WORLD_FILE).stat().st_mtime)


def nearest_log_dir(start: Path | None = None) -> Path:
    """The ``runs/`` folder in ``start`` (default: the current directory) or the nearest directory above it that has
    one, else the ``runs/`` of the checkout this package runs from: a notebook opened in ``notebooks/``, or anywhere
    else, finds the checkout's runs."""
    start = Path(start or Path.cwd()).expanduser().resolve()
    for folder in (start, *start.parents, CHECKOUT):
        if (folder / "runs").is_dir():
            return folder / "runs"
    raise UserError(f"no runs/ folder in {start}, above it or in {CHECKOUT}: train one with `python train.py`, or "
                    "name the run (GENIE_RUN_DIR=<run dir>) or the folder of runs (GENIE_LOG_DIR=<dir>)")


def open_store_of_run(run_dir: Path, override: str | None = None) -> EpisodeStore:
    """The episode store recorded in the run's world.json (or ``override``)."""
    path = override or read_world(run_dir).get("data")
    if not path:
        raise UserError(f"{run_dir / WORLD_FILE}: no 'data' entry; pass the store explicitly")
    return EpisodeStore(path)
