"""The shape the per-run benchmarks share (lam_intent, token_stability): score each run directory given on the
command line on an episode store (the run's own, or ``--store``), and add its scores to a JSON where the runs scored
before stay."""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable
from pathlib import Path

import torch

from genie.checkpoints import read_world
from genie.data.store import EpisodeStore, atomic_write_bytes
from genie.errors import UserError

ROOT = Path(__file__).resolve().parents[1]


def per_run_parser(doc: str, trained: str, episodes: int, out: str) -> argparse.ArgumentParser:
    """Positional run directories (each with a trained ``trained``), ``--store``, ``--split``, ``--episodes``, ``--out``."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help=f"run directories with a trained {trained}")
    parser.add_argument("--store", default=None, help="episode store to read (default: each run's own)")
    parser.add_argument("--split", default="val")
    parser.add_argument("--episodes", type=int, default=episodes)
    parser.add_argument("--out", default=out)
    return parser


def score_runs(args: argparse.Namespace, score: Callable[[str, EpisodeStore], dict], log: logging.Logger) -> Path:
    """``score(run, store)`` for every run of ``args``, merged into the JSON at ``args.out`` (written atomically)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    torch.set_num_threads(1)
    out = ROOT / args.out
    results = json.loads(out.read_text()) if out.is_file() else {}
    for run in args.runs:
        store_path = args.store or read_world(Path(run)).get("data")
        if store_path is None:
            raise UserError(f"{run}: world.json names no store; pass --store")
        results[str(run)] = {"store": str(store_path), **score(run, EpisodeStore(store_path))}
        log.info("%s: %s", run, {k: v for k, v in results[str(run)].items() if not isinstance(v, dict)})
    atomic_write_bytes(out, json.dumps(results, indent=1).encode())
    print(f"wrote {out}")
    return out
