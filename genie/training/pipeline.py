"""What ``python train.py`` does, top to bottom: prepare the data, plan the stages, build and fit each, then dream.

Every stage writes into one run directory::

    <run>/checkpoints/<stage>/{last,final}.ckpt   <run>/world.json   <run>/dream/   <run>/logs/

A stage listed in ``stage.stages`` is trained unless ``run.<stage>`` names a run directory or checkpoint to reuse.
``ckpt_path=<.../checkpoints/<stage>/last.ckpt>`` resumes that stage of that run and reuses its earlier stages.
Each stage is built by its builder (genie/training/stage_builders.py) and fitted by a Trainer made from the
``trainer``, ``budget`` and ``callbacks`` configs (genie/training/stage_trainer.py).

Stage ``world`` co-trains the LAM and the dynamics model on a frozen tokenizer (genie/models/world.py); it saves
``checkpoints/world/{last,final}.ckpt`` and, at the end, ``checkpoints/{lam,dynamics}/final.ckpt`` for world.json, so
a co-trained world loads like any other.

Under several processes (genie/training/distributed.py) rank 0 prepares data, writes world.json and the report.
"""

from __future__ import annotations

import logging
from pathlib import Path

import lightning as L
import torch
from omegaconf import DictConfig, OmegaConf

from genie.checkpoints import STAGES, read_world, record_in_world, resolve_checkpoint
from genie.data.prepare import prepare_store
from genie.errors import UserError
from genie.training.config_check import check_config
from genie.training.config_tree import log_config_tree
from genie.training.distributed import is_rank_zero, join_launched_processes, leave_process_group, rank_zero_first
from genie.training.loggers import run_config
from genie.training.stage_builders import BUILDERS, EARLIER_STAGES, RunInputs
from genie.training.stage_trainer import stage_trainer
from genie.training.world_parts import split_world_checkpoint
from genie.wandb_runs import log_world, offline_hint

log = logging.getLogger(__name__)


def train(cfg: DictConfig) -> dict[str, float]:
    """Run the stages of ``cfg.stage``; returns each fitted stage's last validation metrics
    (``<stage>/val/<name>``) and, when the run dreams, the report's metrics."""
    check_config(cfg)  # wrong types and unknown keys stop the run here, as one line
    if is_rank_zero():
        log_config_tree(cfg)
    join_launched_processes()
    compiled_stages(cfg)  # a bad entry stops the run before any stage trains
    L.seed_everything(cfg.seed, workers=True)
    torch.set_float32_matmul_precision("high")
    run_dir = Path(cfg.paths.output_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    with rank_zero_first():
        store = prepare_store(OmegaConf.to_container(cfg.data, resolve=True))
    components, resume_stage = plan_components(cfg)
    inputs = RunInputs(cfg, run_dir, store, components)
    for stage, ckpt in components.items():
        if stage != resume_stage:
            log.info("%s: reusing %s", stage, ckpt)
            record(run_dir, stage, ckpt)
    metrics: dict[str, float] = {}
    for stage in cfg.stage.stages:
        if stage in components and stage != resume_stage:
            continue
        metrics |= fit_stage(stage, inputs, cfg.ckpt_path if stage == resume_stage else None)
        final = run_dir / "checkpoints" / stage / "final.ckpt"
        trained = split_world_checkpoint(final, run_dir / "checkpoints") if stage == "world" else {stage: final}
        for name, ckpt in trained.items():
            components[name] = str(ckpt)
            record(run_dir, name, ckpt)
    record(run_dir, "data", store.root)
    leave_process_group()  # the ranks' shared work is done; rank 0 may go on alone (the report)
    complete = all(s in components for s in STAGES)
    wandb_cfg = (cfg.logger or {}).get("wandb")
    if cfg.stage.dream and complete and is_rank_zero():
        from genie.eval.report import write_report
        from genie.eval.settings import ReportSettings

        report = ReportSettings.from_config(OmegaConf.to_container(cfg.dream, resolve=True), device=cfg.device)
        metrics |= write_report(run_dir, store, report, logger_cfg=cfg.logger,
                                run_config=run_config(cfg) if wandb_cfg else None)
        log.info("the full report (256-step long play, realism, 48 levels of key response; a few minutes): "
                 "python dream.py run=%s", run_dir)
    if wandb_cfg is not None and is_rank_zero():
        if wandb_cfg.get("log_world") and complete:
            log_world(run_dir, wandb_cfg, run_config(cfg))
        if (hint := offline_hint(wandb_cfg)) is not None:
            log.info("%s", hint)
    log.info("run directory: %s (checkpoints in world.json)", run_dir)
    return metrics


def fit_stage(stage: str, inputs: RunInputs, resume: str | None) -> dict[str, float]:
    """Build and fit one stage; returns its last validation metrics as ``<stage>/val/<name>``."""
    setup = BUILDERS[stage](inputs)
    if stage in compiled_stages(inputs.cfg):
        for net in setup.module.children():  # in place: checkpoints keep their keys
            net.compile()
    trainer = stage_trainer(inputs.cfg, stage, inputs.run_dir, resume)
    trainer.fit(setup.module, datamodule=setup.datamodule, ckpt_path=resume)
    return {f"{stage}/{k}": float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val/")}


def compiled_stages(cfg: DictConfig) -> list[str]:
    """The stages ``compile`` lists (their nets run through torch.compile while they train), checked."""
    stages = list(cfg.get("compile") or [])
    unknown = [s for s in stages if s not in EARLIER_STAGES]
    if unknown:
        raise UserError(f"compile: unknown stage(s) {unknown} (known: {', '.join(EARLIER_STAGES)})")
    return stages


def record(run_dir: Path, key: str, path: Path | str) -> None:
    if is_rank_zero():
        record_in_world(run_dir, key, path)


def plan_components(cfg: DictConfig) -> tuple[dict[str, str], str | None]:
    """Checkpoints to reuse (from ``run.<stage>`` overrides and a resumed run), and the stage to resume, if any."""
    components: dict[str, str] = {}
    resume_stage = None
    if cfg.ckpt_path:
        ckpt = Path(cfg.ckpt_path).expanduser().resolve()
        if not ckpt.is_file():
            raise UserError(f"ckpt_path={cfg.ckpt_path}: file not found")
        resume_stage = ckpt.parent.name
        if resume_stage not in EARLIER_STAGES or ckpt.parent.parent.name != "checkpoints":
            raise UserError(f"ckpt_path={ckpt}: expected <run>/checkpoints/<{'|'.join(EARLIER_STAGES)}>/<name>.ckpt")
        previous = read_world(ckpt.parent.parent.parent)
        for stage in EARLIER_STAGES[resume_stage]:
            if stage in previous:
                components[stage] = previous[stage]
        components[resume_stage] = str(ckpt)
    for stage in STAGES:
        ref = cfg.run.get(stage)
        if ref:
            components[stage] = str(resolve_checkpoint(ref, stage))
    return components, resume_stage
