"""The loggers of one stage: one per configured backend, named after the stage.

A W&B logger gets the stage's run of the run directory (genie/wandb_runs.py: a resumed stage continues its run, the
group follows the run and the sweep) and, as that run's config, the resolved Hydra config plus the git commit of the
code and whether the checkout had uncommitted changes. The module's parameter counts join the config when fitting
starts (callbacks.LogParameterCounts). Every validation metric keeps its best value in the run's summary
(``BestSummaryWandbLogger``). Every other key of ``logger.wandb`` but this project's own (``log_world``) reaches the
WandbLogger as it is (``tags`` and ``notes`` go to ``wandb.init``): ``log_model`` makes it upload the ModelCheckpoint
files as artifacts (Lightning refuses it with ``offline: true``; stream with ``logger.wandb.offline=false``).
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf

from genie.runs import CHECKOUT
from genie.training.distributed import is_rank_zero
from genie.wandb_runs import OWN_KEYS, best_summary, record_stage_run, stage_run


class BestSummaryWandbLogger(WandbLogger):
    """Lightning's WandbLogger whose validation metrics (``val/...``) keep their best value in the run's summary
    (``min`` for losses and errors, else ``max``: wandb_runs.best_summary), defined just before each is first
    logged, so the sweep objective and the headline metrics compare runs by their best, not their last, value."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.best_defined: set[str] = set()

    @rank_zero_only
    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        for name, value in metrics.items():  # media (log_image, log_video) come here too: numbers only
            numeric = isinstance(value, (int, float)) or getattr(value, "ndim", None) == 0
            if numeric and name.startswith("val/") and name not in self.best_defined:
                self.experiment.define_metric(name, summary=best_summary(name))
                self.best_defined.add(name)
        super().log_metrics(metrics, step)


def make_loggers(cfg: DictConfig, stage: str, run_dir: Path, resume: str | None) -> list:
    """One logger per configured backend, named after the stage (W&B: one run per stage, grouped by run);
    ``resume``: the checkpoint this fit resumes from, if any."""
    loggers = []
    for logger_cfg in (cfg.logger or {}).values():
        extra = wandb_arguments(cfg, stage, run_dir, resume, logger_cfg) if is_wandb(logger_cfg) else {}
        settings = {k: v for k, v in logger_cfg.items() if k not in OWN_KEYS}
        # a partial first: instantiate() has a parameter named `config` of its own, W&B's run config would clash
        logger = instantiate(settings, _partial_=True, _convert_="all")(name=stage, **extra)
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
    return {"id": run.id, "group": run.group, "resume": "allow", "config": run_config(cfg)}


def run_config(cfg: DictConfig) -> dict[str, Any]:
    """The config every W&B run of a run directory carries: the resolved Hydra config and the code's version."""
    return OmegaConf.to_container(cfg, resolve=True) | code_version()


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
