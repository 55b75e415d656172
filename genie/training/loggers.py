"""The loggers of one stage: one per configured backend, named after the stage."""

from __future__ import annotations

from hydra.utils import instantiate
from omegaconf import DictConfig


def make_loggers(cfg: DictConfig, stage: str) -> list:
    """One logger per configured backend, named after the stage (W&B: one run per stage, grouped by run)."""
    return [instantiate(logger_cfg, name=stage) for logger_cfg in (cfg.logger or {}).values()]
