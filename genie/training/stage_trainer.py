"""The Trainer of one stage: the ``trainer`` config with the stage's budget filling the keys it leaves null, the
``callbacks`` config group, and the stage's loggers.

Precedence, for every Trainer argument: a value in the ``trainer`` group or on the command line (``trainer.max_steps=5``)
applies to every stage; where ``trainer`` leaves a key null, ``budget.<stage>.<key>`` sets it for that stage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
from hydra.utils import instantiate
from omegaconf import DictConfig, open_dict

from genie.training.callbacks import FinishWandb, LogParameterCounts, SaveFinal
from genie.training.loggers import make_loggers


def trainer_arguments(cfg: DictConfig, stage: str) -> dict[str, Any]:
    """The stage's budget for the Trainer keys ``cfg.trainer`` leaves null (its batch size is the data's)."""
    budget = {k: v for k, v in cfg.budget[stage].items() if k != "batch_size"}
    arguments = {k: v for k, v in budget.items() if cfg.trainer.get(k) is None}
    max_steps = cfg.trainer.get("max_steps") or arguments.get("max_steps")
    interval = cfg.trainer.get("val_check_interval") or arguments.get("val_check_interval")
    if isinstance(interval, int) and max_steps and max_steps > 0 and interval > max_steps:
        arguments["val_check_interval"] = max_steps  # validate at least once, at the end
    return arguments


def stage_callbacks(cfg: DictConfig, stage: str, checkpoint_dir: Path) -> list[L.Callback]:
    """The ``callbacks`` group instantiated for ``stage`` (entries set to null are skipped, and so are entries whose
    ``stages`` list leaves this stage out), then the ones every stage gets (genie/training/callbacks.py), the final
    checkpoint world.json points at last, so it holds what the other callbacks leave (e.g. EMA weights)."""
    stage_cfg = cfg.copy()
    with open_dict(stage_cfg):
        stage_cfg.fitting = {"stage": stage, "checkpoint_dir": str(checkpoint_dir)}
        entries = [c for c in (stage_cfg.callbacks or {}).values() if c is not None]
        chosen = [c for c in entries if applies_to(c.pop("stages", None), stage)]
    return [*map(instantiate, chosen), LogParameterCounts(), FinishWandb(), SaveFinal(checkpoint_dir / "final.ckpt")]


def applies_to(stages: Any, stage: str) -> bool:
    """A callback entry's ``stages``: null for every stage, else the stages it is given to."""
    return stages is None or stage in stages


def stage_trainer(cfg: DictConfig, stage: str, run_dir: Path, resume: str | None) -> L.Trainer:
    """``resume``: the checkpoint the fit resumes from, if any (its W&B run is continued)."""
    checkpoint_dir = run_dir / "checkpoints" / stage
    return instantiate(cfg.trainer, **trainer_arguments(cfg, stage),
                       logger=make_loggers(cfg, stage, run_dir, resume),
                       callbacks=stage_callbacks(cfg, stage, checkpoint_dir))
