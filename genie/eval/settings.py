"""The report's settings, typed: built once from the ``report`` config group (genie/configs/report/default.yaml),
which train.py reads as ``dream.*`` and ``dream.py`` at its top level. The defaults here are default.yaml's
(tests/test_report_settings.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from genie.errors import UserError
from genie.eval.key_response import KeyResponseSettings
from genie.eval.long_play import LongPlaySettings

# keys of dream.yaml that are not report settings (dream.py composes the report group at its top level)
DREAM_COMMAND_KEYS = frozenset({"run", "store", "mode", "ui", "play", "paths", "hydra"})


@dataclass(frozen=True)
class KeyControllerSettings:
    """The key map and controller play uses (genie/controls/key_controls.py), fitted by the report."""

    steps: int = 600  # optimiser steps (0: none)
    window: int = 1  # frames it reads: the newest only, so it judges where the player is, not how it moves
    held_frames: int = 8  # it also reads how long the key has been held, up to this many frames (1: not at all)
    # it learns the code this many frames into the key's hold (0: the transition's own code); None: 2 for a label-free
    # LAM, 0 for one taught with true actions (genie/controls/transitions.py, key_lookahead)
    lookahead: int | None = None


@dataclass(frozen=True)
class ReportSettings:
    """What the report (``train.py`` stage.dream, ``dream.py mode=dream|eval``) measures and draws."""

    out_dir: str | None = None  # None: <run>/dream
    split: str = "test"
    episode: int | str = 0  # the dreamed episode: an index among the split's long-enough episodes, or a name
    actions: str | list[int] = "inferred"  # inferred | random | [1, 1, 3, 3] (cycled)
    steps: int = 64  # dreamed frames of dream.gif
    temperature: float = 0.0
    seed: int = 0
    eval_clips: int = 512  # held-out clips of the one-step metrics
    rollout_clips: int = 128  # clips for rollout PSNR / ΔtPSNR (0: skip)
    grid_rows: int = 4
    grid_steps: int = 12
    tsne_points: int = 800
    reconstruction_frames: int = 48
    fps: float = 10
    scale: int = 3
    key_controller: KeyControllerSettings = field(default_factory=KeyControllerSettings)
    long_play: LongPlaySettings = field(default_factory=LongPlaySettings)
    key_response: KeyResponseSettings = field(default_factory=KeyResponseSettings)
    device: str | None = None  # auto | cpu | cuda | cuda:N (train.py's and dream.py's ``device``)

    @classmethod
    def from_config(cls, values: Mapping[str, Any], device: str | None = None,
                    ignore: frozenset[str] = frozenset()) -> ReportSettings:
        """``values``: the report group as a plain mapping (train.py's ``dream``, or dream.py's whole config with
        ``ignore=DREAM_COMMAND_KEYS``). Unknown keys raise one UserError naming ``dream.<key>``."""
        values = {k: v for k, v in values.items() if k not in ignore}
        nested = {"key_controller": KeyControllerSettings, "long_play": LongPlaySettings,
                  "key_response": KeyResponseSettings}
        for name, kind in nested.items():
            if name in values:
                block = dict(values[name] or {})
                if "horizons" in block:
                    block["horizons"] = tuple(int(h) for h in block["horizons"])
                values[name] = build(kind, block, f"dream.{name}")
        if device is not None:
            values["device"] = device
        return build(cls, values, "dream")


def build(kind: type, values: Mapping[str, Any], where: str):
    known = {f.name for f in dataclasses.fields(kind)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise UserError(f"{where}.{unknown[0]}: unknown report setting (known: {', '.join(sorted(known))})")
    return kind(**values)
