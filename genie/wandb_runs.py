"""The W&B runs of one run directory: one per stage plus the report's, all in one group.

``<run>/wandb_ids.json`` keeps the group and each stage's run id::

    {"group": "2026-12-02_21-55-52_1dd45e", "ids": {"tokenizer": "3f9a1c0b", "lam": "0d4e7a21"}}

A stage resumed with ``ckpt_path=<old run>/checkpoints/<stage>/last.ckpt`` continues the W&B run of that stage (its id,
read from the old run's file) in the old run's group; the end-of-run report joins the group of the stages. In a Hydra
multirun the configured group (by default the run directory's name, which there is the job number) is put under the
sweep directory's name, ``multirun_<id>/<job>``, so that the trials of different sweeps never share a group.

Every run of the group (stages, report, world) carries the resolved config, ``logger.wandb.tags`` and ``notes``;
validation and report metrics keep their best value in the summary (``best_summary``). With
``logger.wandb.log_world=true`` the world (world.json and the checkpoints it lists inside the run) is logged as one
artifact, itself a loadable run directory. Offline runs (the default) are uploaded later with ``wandb sync``.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genie.data.store import atomic_write_bytes

log = logging.getLogger(__name__)

IDS_FILE = "wandb_ids.json"
OWN_KEYS = ("log_world",)  # keys of logger.wandb that are this project's, not the WandbLogger's or wandb.init's
LOWER_IS_BETTER = ("loss", "mse", "error")


@dataclass(frozen=True)
class StageRun:
    id: str  # 8 lowercase hex digits for a new run (W&B ids are [a-z0-9])
    group: str


def read_record(run_dir: Path) -> dict:
    """``{"group": ..., "ids": {stage: id}}`` of a run directory, or {} where none was written."""
    path = Path(run_dir) / IDS_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def sweep_group(group: str) -> str:
    """``group``, under the sweep directory's name when this process is a job of a Hydra multirun."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
        return f"{Path(HydraConfig.get().sweep.dir).name}/{group}"
    return group


def stage_run(run_dir: Path, stage: str, group: str, resumed_run: Path | None) -> StageRun:
    """The W&B run of ``stage`` in ``run_dir``; ``resumed_run`` is the run directory whose checkpoint of ``stage``
    this fit resumes, if any: its id for the stage is kept. The group is the one this run directory already uses,
    else the resumed run's, else ``sweep_group(group)``."""
    earlier = read_record(resumed_run) if resumed_run else {}
    group = read_record(run_dir).get("group") or earlier.get("group") or sweep_group(group)
    return StageRun(earlier.get("ids", {}).get(stage) or secrets.token_hex(4), group)


def record_stage_run(run_dir: Path, stage: str, run: StageRun) -> None:
    """Keep ``run`` as the W&B run of ``stage`` in ``<run_dir>/wandb_ids.json`` (written atomically)."""
    record = read_record(run_dir)
    record["group"] = run.group
    record.setdefault("ids", {})[stage] = run.id
    atomic_write_bytes(Path(run_dir) / IDS_FILE, json.dumps(record, indent=1).encode())


def report_group(run_dir: Path, group: str) -> str:
    """The group of the report's run: the stages' group, or ``sweep_group(group)`` where no stage logged to W&B."""
    return read_record(run_dir).get("group") or sweep_group(group)


def best_summary(name: str) -> str:
    """The summary that keeps a metric's best value: ``min`` where lower is better (a loss, an MSE, an error: by its
    last path component), else ``max``."""
    leaf = name.rsplit("/", 1)[-1]
    return "min" if any(word in leaf for word in LOWER_IS_BETTER) else "max"


def define_best(run, names) -> None:
    """Make each metric of ``names`` keep its best value in ``run``'s summary (before it is first logged)."""
    for name in names:
        run.define_metric(name, summary=best_summary(name))


def init_settings(run_dir: Path, wandb_cfg: dict[str, Any], name: str, config: dict[str, Any]) -> dict[str, Any]:
    """``wandb.init`` keyword arguments of a run of the group (``name``: ``dream``, ``world``) besides the stages'."""
    group = report_group(run_dir, str(wandb_cfg.get("group") or Path(run_dir).name))
    return {
        "project": wandb_cfg.get("project"), "group": group, "name": name, "job_type": name,
        "dir": wandb_cfg.get("save_dir"), "config": config, "tags": list(wandb_cfg.get("tags") or []),
        "notes": wandb_cfg.get("notes"),
        "mode": "offline" if wandb_cfg.get("offline", True) else "online", "reinit": "finish_previous",
    }


def log_world(run_dir: Path, wandb_cfg: dict[str, Any], config: dict[str, Any]) -> None:
    """A ``world`` run of the group logging one artifact of type ``world``: world.json and every file it lists
    inside the run (the checkpoints), at their paths in the run, so the artifact downloads as a loadable run
    directory (stores outside the run stay where world.json says)."""
    import wandb

    from genie.checkpoints import WORLD_FILE, read_world

    run_dir = Path(run_dir).resolve()
    settings = init_settings(run_dir, wandb_cfg, "world", config)
    name = "world-" + re.sub(r"[^A-Za-z0-9_.-]+", "-", settings["group"])  # multirun groups hold a '/'
    artifact = wandb.Artifact(name, type="world", metadata={"run_dir": str(run_dir)})
    artifact.add_file(str(run_dir / WORLD_FILE), name=WORLD_FILE)
    for path in map(Path, read_world(run_dir).values()):
        if path.is_file() and path.is_relative_to(run_dir):
            artifact.add_file(str(path), name=str(path.relative_to(run_dir)))
    run = wandb.init(**settings)
    run.log_artifact(artifact)
    run.finish()
    log.info("W&B: the world logged as artifact %s", artifact.name)


def offline_hint(wandb_cfg: dict[str, Any]) -> str | None:
    """How to upload this run's offline W&B runs, or None when they stream."""
    if not wandb_cfg.get("offline", True):
        return None
    folders = Path(str(wandb_cfg.get("save_dir"))) / "wandb" / "offline-run-*"
    return f"W&B runs are offline; upload them with: wandb sync {folders}"
