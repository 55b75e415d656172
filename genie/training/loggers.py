"""The loggers of one stage: one per configured backend, named after the stage.

A W&B logger gets the stage's run of the run directory (genie/wandb_runs.py: a resumed stage continues its run, the
group follows the run and the sweep) and, as that run's config, the resolved Hydra config plus the git commit of the
code and whether the checkout had uncommitted changes. The module's parameter counts join the config when fitting
starts (callbacks.LogParameterCounts). Every other key of ``logger.wandb`` reaches the WandbLogger as it is:
``log_model`` makes it upload the ModelCheckpoint files as artifacts (Lightning refuses it with ``offline: true``;
stream with ``logger.wandb.offline=false``).
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from genie.runs import CHECKOUT
from genie.training.distributed import is_rank_zero
from genie.wandb_runs import record_stage_run, stage_run


def make_loggers(cfg: DictConfig, stage: str, run_dir: Path, resume: str | None) -> list:
    """One logger per configured backend, named after the stage (W&B: one run per stage, grouped by run);
    ``resume``: the checkpoint this fit resumes from, if any."""
    loggers = []
    for logger_cfg in (cfg.logger or {}).values():
        extra = wandb_arguments(cfg, stage, run_dir, resume, logger_cfg) if is_wandb(logger_cfg) else {}
        # a partial first: instantiate() has a parameter named `config` of its own, W&B's run config would clash
        logger = instantiate(logger_cfg, _partial_=True)(name=stage, **extra)
        if extra:
            # Lightning passes anonymous=None to wandb.init, which then warns that the setting has no effect
            logger._wandb_init.pop("anonymous", None)
        loggers.append(logger)
    return loggers


def is_wandb(logger_cfg: DictConfig) -> bool:
    return str(logger_cfg.get("_target_", "")).endswith("WandbLogger")


def wandb_arguments(cfg: DictConfig, stage: str, run_dir: Path, resume: str | None,
                    wandb_cfg: DictConfig) -> dict[str, Any]:
    """The stage run's id, group and config; rank 0 records the id in ``<run_dir>/wandb_ids.json``. A resumed
    checkpoint lies in ``<run>/checkpoints/<stage>/`` (the layout the pipeline checks), whose run's id is kept."""
    resumed_run = Path(resume).expanduser().resolve().parents[2] if resume else None
    run = stage_run(run_dir, stage, str(wandb_cfg.get("group") or run_dir.name), resumed_run)
    if is_rank_zero():
        record_stage_run(run_dir, stage, run)
    config = OmegaConf.to_container(cfg, resolve=True) | code_version()
    return {"id": run.id, "group": run.group, "resume": "allow", "config": config}


def code_version() -> dict[str, Any]:
    """``{"git_commit": <sha>, "git_dirty": <uncommitted changes to tracked files>}`` when this code runs from a git
    checkout of the project (genie/ at its top level), else {} (an installed wheel, no git)."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=CHECKOUT, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    top = git("rev-parse", "--show-toplevel")
    if top is None or Path(top).resolve() != CHECKOUT:  # e.g. a wheel installed in a venv inside some checkout
        return {}
    changes = git("status", "--porcelain", "--untracked-files=no")
    return {"git_commit": git("rev-parse", "HEAD"), "git_dirty": bool(changes)}
