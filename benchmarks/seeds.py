"""Runs given under one name are seeds of one recipe: ``name=run`` arguments, each metric's mean ± standard deviation
over a name's runs, and the markdown table the scripts print (other_games, breakout_ball)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np


def runs_by_name(pairs: list[str]) -> dict[str, list[Path]]:
    """``["default=runs/a", "default=runs/b", "other=runs/c"]`` -> the run directories of each name, in order."""
    runs: dict[str, list[Path]] = defaultdict(list)
    for pair in pairs:
        name, sep, path = pair.partition("=")
        if not sep:
            raise SystemExit(f"{pair!r}: expected name=path")
        runs[name].append(Path(path))
    return dict(runs)


def seed_summary(per_run: dict[str, dict[str, dict]], keys: list[str]) -> dict[str, dict[str, dict]]:
    """For each name and key: mean, standard deviation (None for one run) and n over the runs that have the key."""
    summary = {}
    for name, by_run in per_run.items():
        summary[name] = {}
        for key in keys:
            values = [m[key] for m in by_run.values() if m.get(key) is not None]
            if values:
                summary[name][key] = {"mean": float(np.mean(values)), "std": float(np.std(values, ddof=1))
                                      if len(values) > 1 else None, "n": len(values)}
    return summary


def seed_table(summary: dict[str, dict[str, dict]], keys: list[str]) -> str:
    """A markdown table: a row per key, a column per name (``mean ± sd``)."""
    names = list(summary)
    rows = ["| metric | " + " | ".join(f"{n} (n={max((s['n'] for s in summary[n].values()), default=0)})"
                                       for n in names) + " |", "|---|" + "---|" * len(names)]
    for key in keys:
        cells = []
        for n in names:
            s = summary[n].get(key)
            cells.append("" if s is None else f"{s['mean']:.3g}" + ("" if s["std"] is None else f" ± {s['std']:.2g}"))
        rows.append(f"| {key} | " + " | ".join(cells) + " |")
    return "\n".join(rows)
