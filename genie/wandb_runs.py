"""The W&B runs of one run directory: one per stage plus the report's, all in one group.

``<run>/wandb_ids.json`` keeps the group and each stage's run id::

    {"group": "2026-12-02_21-55-52_1dd45e", "ids": {"tokenizer": "3f9a1c0b", "lam": "0d4e7a21"}}

A stage resumed with ``ckpt_path=<old run>/checkpoints/<stage>/last.ckpt`` continues the W&B run of that stage (its id,
read from the old run's file) in the old run's group; the end-of-run report joins the group of the stages. In a Hydra
multirun the configured group (by default the run directory's name, which there is the job number) is put under the
sweep directory's name, ``multirun_<id>/<job>``, so that the trials of different sweeps never share a group.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from genie.data.store import atomic_write_bytes

IDS_FILE = "wandb_ids.json"


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
