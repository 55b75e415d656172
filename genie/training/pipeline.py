"""What ``python train.py`` does: prepare data, then train the configured stages in order, then dream.

Every stage writes into one run directory::

    <run>/checkpoints/<stage>/{last,final}.ckpt   <run>/world.json   <run>/dream/   <run>/logs/

The dynamics stage trains on a token store cached under ``paths.data_dir/tokens`` (see token_store_path).

A stage listed in ``stage.stages`` is trained unless ``run.<stage>`` names a run directory or checkpoint to reuse.
``ckpt_path=<.../checkpoints/<stage>/last.ckpt>`` resumes that stage of that run and reuses its earlier stages.

Stage ``world`` co-trains the LAM and the dynamics model on a frozen tokenizer (genie/models/world.py); it saves
``checkpoints/world/{last,final}.ckpt`` (resume with ``ckpt_path=<run>/checkpoints/world/last.ckpt``) and, at the end,
``checkpoints/{lam,dynamics}/final.ckpt`` for world.json, so a co-trained world loads like any other.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra.utils import instantiate
from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint
from omegaconf import DictConfig, OmegaConf

from genie.checkpoints import STAGES, check_compatible, load_module, read_world, record_in_world, resolve_checkpoint
from genie.data.datamodule import ClipDataModule
from genie.data.prepare import prepare_store
from genie.data.store import EpisodeStore
from genie.errors import UserError
from genie.models.world import WorldTrainingModule
from genie.training.callbacks import FinishWandb, SaveFinal, StageProgress
from genie.training.loggers import make_loggers
from genie.training.tokenize import build_token_store
from genie.training.world_parts import split_world_checkpoint

log = logging.getLogger(__name__)

EARLIER_STAGES = {"tokenizer": (), "lam": ("tokenizer",), "dynamics": ("tokenizer", "lam"), "world": ("tokenizer",)}


def train(cfg: DictConfig) -> dict[str, float]:
    """Run the stages of ``cfg.stage``; returns the evaluation metrics (empty when the run does not dream)."""
    for name in ("lightning.pytorch", "lightning.fabric"):  # print once, through Hydra's handlers
        logging.getLogger(name).handlers.clear()
    L.seed_everything(cfg.seed, workers=True)
    torch.set_float32_matmul_precision("high")
    run_dir = Path(cfg.paths.output_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    store = prepare_store(OmegaConf.to_container(cfg.data, resolve=True))
    components, resume_stage = plan_components(cfg)
    for stage, ckpt in components.items():
        if stage != resume_stage:
            log.info("%s: reusing %s", stage, ckpt)
            record_in_world(run_dir, stage, ckpt)
    for stage in cfg.stage.stages:
        if stage in components and stage != resume_stage:
            continue
        resume = cfg.ckpt_path if stage == resume_stage else None
        components[stage] = fit_stage(stage, cfg, run_dir, store, components, resume)
        trained = {stage: components[stage]}
        if stage == "world":
            trained = split_world_checkpoint(components[stage], run_dir / "checkpoints")
        for name, ckpt in trained.items():
            components[name] = str(ckpt)
            record_in_world(run_dir, name, ckpt)
    record_in_world(run_dir, "data", store.root)
    metrics = {}
    if cfg.stage.dream and all(s in components for s in STAGES):
        from genie.eval.report import write_report

        metrics = write_report(run_dir, store, OmegaConf.to_container(cfg.dream, resolve=True), cfg.logger)
    log.info("run directory: %s (checkpoints in world.json%s)", run_dir, ", artefacts in dream/" if metrics else "")
    return metrics


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
        earlier_run = ckpt.parent.parent.parent
        previous = read_world(earlier_run)
        for stage in EARLIER_STAGES[resume_stage]:
            if stage in previous:
                components[stage] = previous[stage]
        components[resume_stage] = str(ckpt)
    for stage in STAGES:
        ref = cfg.run.get(stage)
        if ref:
            components[stage] = str(resolve_checkpoint(ref, stage))
    return components, resume_stage


def fit_stage(stage: str, cfg: DictConfig, run_dir: Path, store: EpisodeStore, components: dict[str, str],
              resume: str | None) -> str:
    budget = cfg.budget[stage]
    data_root, kind = str(store.root), "pixels"
    overrides: dict[str, Any] = {"frame_size": store.frame_size}
    if stage == "lam":
        overrides["net"] = {"window": cfg.window}
    if stage == "dynamics":
        data_root, kind, overrides = prepare_dynamics_data(cfg, run_dir, store, components)
    if stage == "world":
        module = build_world_module(cfg, store, components)
    else:
        module = instantiate(cfg.model[stage], _convert_="all", **merge_net(cfg.model[stage], overrides))
    datamodule = ClipDataModule(data_root, kind, module.clip_len, budget.batch_size, cfg.data.num_workers, cfg.eval_stride)
    ckpt_dir = run_dir / "checkpoints" / stage
    trainer = instantiate(
        cfg.trainer,
        max_steps=budget.max_steps,
        max_time=budget.get("max_time"),
        val_check_interval=min(budget.val_every, budget.max_steps),
        check_val_every_n_epoch=None,
        limit_val_batches=budget.get("val_batches", 1.0),
        num_sanity_val_steps=0,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=str(run_dir),
        logger=make_loggers(cfg, stage),
        callbacks=[
            ModelCheckpoint(dirpath=ckpt_dir, filename="step{step}", save_last=True, auto_insert_metric_name=False,
                            every_n_train_steps=cfg.callbacks.checkpoint_every, save_top_k=0),
            SaveFinal(ckpt_dir / "final.ckpt"),
            StageProgress(stage),
            FinishWandb(),
            *([LearningRateMonitor("step")] if cfg.logger else []),
        ],
    )
    trainer.fit(module, datamodule=datamodule, ckpt_path=resume)
    return str(ckpt_dir / "final.ckpt")


def merge_net(model_cfg: DictConfig, overrides: dict[str, Any]) -> dict[str, Any]:
    """Overrides for instantiate: ``net`` entries are merged into the configured net dict, not replacing it."""
    merged = dict(overrides)
    if "net" in overrides:
        merged["net"] = {**OmegaConf.to_container(model_cfg.net, resolve=True), **overrides["net"]}
    return merged


def build_world_module(cfg: DictConfig, store: EpisodeStore, components: dict[str, str]) -> WorldTrainingModule:
    """The LAM and dynamics model of ``model.lam`` / ``model.dynamics``, to co-train on this run's tokenizer."""
    if "tokenizer" not in components:
        raise UserError("stage world needs a tokenizer: train it in this run (stage.stages=[tokenizer,world]) or pass "
                        "run.tokenizer=<run dir or .ckpt>")
    tokenizer = load_module(components["tokenizer"], "tokenizer")
    check_compatible(tokenizer, None, None, cfg.window, store.frame_size, components)
    lam_overrides = {"frame_size": store.frame_size, "net": {"window": cfg.window}}
    dynamics_overrides = {
        "frame_size": store.frame_size,
        "token_grid": tokenizer.token_grid,
        "net": {"num_codes": tokenizer.net.num_codes, "num_actions": cfg.model.lam.net.num_actions,
                "window": cfg.window},
    }
    module = WorldTrainingModule(
        tokenizer={"kind": tokenizer.hparams.kind, "net": tokenizer.hparams.net},
        lam=module_settings(cfg.model.lam, lam_overrides),
        dynamics=module_settings(cfg.model.dynamics, dynamics_overrides),
        **OmegaConf.to_container(cfg.stage.world, resolve=True),
    )
    module.tokenizer.load_state_dict(tokenizer.net.state_dict())
    return module


def module_settings(model_cfg: DictConfig, overrides: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments ``instantiate(model_cfg, **overrides)`` would pass, as plain values."""
    settings = OmegaConf.to_container(model_cfg, resolve=True)
    settings.pop("_target_")
    return {**settings, **merge_net(model_cfg, overrides)}


def prepare_dynamics_data(cfg: DictConfig, run_dir: Path, store: EpisodeStore, components: dict[str, str]):
    """Load the tokenizer and LAM this dynamics model builds on, check they fit, and pre-tokenise the store."""
    for needed in ("tokenizer", "lam"):
        if needed not in components:
            raise UserError(f"stage dynamics needs a {needed}: train it in this run (stage=all) or pass "
                            f"run.{needed}=<run dir or .ckpt>")
    tokenizer, lam = load_module(components["tokenizer"], "tokenizer"), load_module(components["lam"], "lam")
    check_compatible(tokenizer, lam, None, cfg.window, store.frame_size, components)
    header = {"store": str(store.root), "tokenizer": components["tokenizer"], "lam": components["lam"]}
    tokens_dir = token_store_path(cfg, store, header)
    build_token_store(store, tokenizer.net, lam.net, tokens_dir, header)
    record_in_world(run_dir, "tokens", tokens_dir)
    overrides = {
        "frame_size": store.frame_size,
        "token_grid": tokenizer.token_grid,
        "net": {"num_codes": tokenizer.net.num_codes, "num_actions": lam.net.num_actions, "window": cfg.window},
    }
    return str(tokens_dir), "tokens", overrides


def token_store_path(cfg: DictConfig, store: EpisodeStore, header: dict[str, str]) -> Path:
    """Token stores are cached under ``paths.data_dir/tokens``, keyed by the store and the exact checkpoints
    (path, size, mtime), so every dynamics run on the same tokenizer + LAM reuses one encoding."""
    stamp = [header["store"]] + [f"{p}:{Path(p).stat().st_size}:{Path(p).stat().st_mtime_ns}"
                                 for p in (header["tokenizer"], header["lam"])]
    digest = hashlib.sha1("|".join(stamp).encode()).hexdigest()[:12]
    return Path(cfg.paths.data_dir) / "tokens" / f"{store.root.name}_{digest}"
