"""The artefacts of a trained run: dream.gif, reconstruction.gif, action_grid.gif, long_play.gif,
latent_actions_tsne.png, grounding.png (stores whose actions have effects), metrics.json (train.py / dream.py) and
eval.json (dream.py mode=eval)."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genie.controls.key_controls import KeyControls, fit_key_controls
from genie.data.store import EpisodeStore, atomic_write_bytes
from genie.device import pick_device
from genie.drawing import label, upscale
from genie.eval.action_grid import action_grid_video
from genie.eval.controllability import rollout_metrics
from genie.eval.dream import Dream, dream_episode
from genie.eval.evaluate import EvalClips, evaluate
from genie.eval.grounding import grounding_figure, run_grounding
from genie.eval.key_response import KeyResponseSettings, key_response
from genie.eval.long_play import LongPlay, long_play
from genie.eval.scene_motion import store_frameskip
from genie.eval.settings import ReportSettings
from genie.eval.visualise import error_map, frame_strip, side_by_side, tsne_figure, write_gif, write_png
from genie.nn.pixels import to_uint8
from genie.wandb_runs import define_best, init_settings
from genie.world import WorldModel

log = logging.getLogger(__name__)


def dream_video(dream: Dream, scale: int) -> np.ndarray:
    """real | dream, upscaled, each dreamed frame labelled with the latent action that produced it."""
    real, dreamed = upscale(dream.real, scale), upscale(dream.dreamed, scale)
    real = np.stack([label(f, "real") for f in real])
    tags = ["context"] * dream.context + [f"a={a}" for a in dream.actions]
    dreamed = np.stack([label(f, f"dream {tag}") for f, tag in zip(dreamed, tags)])
    return side_by_side(real, dreamed)


def reconstruction_video(world: WorldModel, frames_THWC: np.ndarray, scale: int) -> np.ndarray:
    """original | reconstruction | error map (4x amplified absolute error)."""
    tokens = world.encode(torch.from_numpy(frames_THWC)[None])
    recon = to_uint8(world.decode(tokens)[0]).cpu().numpy()
    panels = [upscale(v, scale) for v in (frames_THWC, recon, error_map(frames_THWC, recon))]
    names = ("original", "reconstruction", "error x4")
    return side_by_side(*[np.stack([label(f, n) for f in v]) for v, n in zip(panels, names)])


def tsne_plot(path: Path, clips: EvalClips, store: EpisodeStore, max_points: int, seed: int) -> Path:
    from sklearn.manifold import TSNE

    n = min(max_points, len(clips.lam_codes))
    pick = np.random.default_rng(seed).permutation(len(clips.lam_codes))[:n]
    embedding = TSNE(n_components=2, perplexity=min(30, max(2, n // 4)), init="pca", random_state=seed)
    points = embedding.fit_transform(clips.lam_embeddings[pick])
    colourings = {"latent action (LAM code)": (clips.lam_codes[pick], None)}
    if (clips.true_actions[pick] >= 0).all():
        colourings["true action"] = (clips.true_actions[pick], store.action_meanings)
        if (effects := store.effects()) is not None and effects[1] != store.action_meanings:  # Atari: the same
            colourings["true effect"] = (np.asarray(effects[0])[clips.true_actions[pick]], effects[1])
    return tsne_figure(path, points, colourings)


SUMMARY_KEYS = (
    "tokenizer/psnr", "tokenizer/codebook_usage", "lam/codes_used", "lam/action_nmi", "lam/effect_nmi",
    "dynamics/psnr_next", "dynamics/psnr_copy_baseline", "dynamics/delta_t_psnr", "dream/frames_per_second",
    "controls/controller_accuracy", "controls/fixed_map_accuracy", "grounding/effect_accuracy_n200",
    "grounding/effect_accuracy_all", "grounding/majority",
    "long_play/realism_real", *(f"long_play/{name}_t{h}" for name in (
        "realism_human", "realism_held", "realism_replayed", "realism_keys", "player_in_view_human",
        "player_in_view_held_worst", "player_in_view_replayed", "player_in_view_keys", "frozen_human", "frozen_keys")
      for h in (16, 64, 256)),
    "long_play/player_detector_accuracy", *(f"motion/{name}_{way}" for name in ("reach", "real_reach")
                                            for way in ("right", "left", "up")),
    *(f"key_response/{start}/{name}" for start in ("walk", "start")
      for name in ("same_way", "x_error", "real_travel", "dream_travel", "key_gain", "inferred_same_way")),
)


def run_long_play(world: WorldModel, store: EpisodeStore, settings: ReportSettings, out: Path,
                  controls: KeyControls | None = None) -> LongPlay | None:
    """Long-play metrics and ``long_play.gif`` (+ a strip of it as PNG); None where ``long_play.starts`` is 0."""
    if settings.long_play.starts <= 0:
        return None
    result = long_play(world, store, settings.split, settings.long_play, settings.temperature, settings.seed, controls)
    write_gif(out / "long_play.gif", result.video, settings.fps * 1.5)
    write_png(out / "long_play_strip.png", frame_strip(result.video, every=32, max_frames=9))
    return result


def run_key_response(world: WorldModel, store: EpisodeStore, settings: KeyResponseSettings, out: Path,
                     controls: KeyControls | None) -> dict[str, float]:
    """The same keys in the real game and in the dream (genie/eval/key_response.py) and ``key_response.png``, where
    the store is CoinRun (a simulator that replays keys) and the world can take keys; else nothing."""
    if settings.levels <= 0 or store.source != "coinrun" or (controls is None and world.effect_names is None):
        return {}
    extra = store.manifest.get("extra", {})
    metrics, strip = key_response(world, controls, settings, store_frameskip(store),
                                  extra.get("distribution_mode", "easy"), extra["levels_per_split"]["test"],
                                  extra.get("backgrounds", True))
    write_png(out / "key_response.png", upscale(strip, 2))
    return metrics


def log_summary(metrics: dict[str, float]) -> None:
    for key in SUMMARY_KEYS:
        if key in metrics:
            log.info("  %s = %.4g", key, metrics[key])


def write_report(run_dir: Path, store: EpisodeStore, settings: ReportSettings,
                 artefacts: bool = True, logger_cfg=None, run_config: dict[str, Any] | None = None) -> dict[str, float]:
    """Every held-out metric of a trained run into ``<run>/dream`` (or ``settings.out_dir``): one-step metrics,
    rollouts and ΔtPSNR, NMI, key controls, long play, key response, dream speed.

    ``artefacts`` (train.py's end of run, ``dream.py mode=dream``): also fits the run's key controls, scores
    grounding, writes dream.gif, reconstruction.gif, action_grid.gif, the t-SNE and the PNGs, then metrics.json, and
    logs to W&B where ``logger_cfg`` has a wandb block (``run_config``: that run's config,
    genie/training/loggers.run_config). Without (``dream.py mode=eval``): the key controls the run saved, and
    eval.json. long_play.gif and key_response.png are written either way."""
    out = Path(settings.out_dir or Path(run_dir) / "dream")
    world = WorldModel.load(run_dir, pick_device(settings.device))
    split, seed, temperature = settings.split, settings.seed, settings.temperature
    log.info("report: one-step metrics on %d held-out %s clips", settings.eval_clips, split)
    clips = evaluate(world, store, split, settings.eval_clips)
    metrics = dict(clips.metrics)
    if world.labelled_fraction > 0:
        metrics["lam/labelled_fraction"] = world.labelled_fraction
        log.info("report: this world's LAM learned from the true actions of %.3g %% of the transitions "
                 "(model.lam.labelled_fraction): its numbers are not label-free", 100 * world.labelled_fraction)
    # the eval path times random actions, whatever dream.actions says (eval.json's speed as before)
    dream = dream_episode(world, store, split, settings.episode, settings.steps,
                          settings.actions if artefacts else "random", temperature, seed)
    files = write_pictures(out, world, store, settings, clips, dream) if artefacts else {}
    if settings.rollout_clips > 0:
        log.info("report: rollouts and ΔtPSNR from %d clips", settings.rollout_clips)
        metrics |= rollout_metrics(world, store, split, settings.rollout_clips, temperature=temperature, seed=seed)
    if artefacts:
        controls = fit_key_controls(run_dir, world, store, **dataclasses.asdict(settings.key_controller))
        if controls is not None:
            metrics |= {f"controls/{k}": v for k, v in controls.metrics.items() if k.endswith("accuracy")}
        if (grounding := run_grounding(run_dir, store, world.num_actions, world.lam.cfg.window, split,
                                       seed)) is not None:
            metrics |= grounding.metrics()
            files["grounding"] = grounding_figure(out / "grounding.png", grounding)
    else:
        controls = KeyControls.load(run_dir, world.device)
    if (played := run_long_play(world, store, settings, out, controls)) is not None:
        metrics |= played.metrics
        files["long_play"] = out / "long_play.gif"
    metrics |= run_key_response(world, store, settings.key_response, out, controls)
    metrics["dream/frames_per_second"] = dream.frames_per_second
    if artefacts:
        metrics["dream/steps"] = int(len(dream.actions))
    written = out / ("metrics.json" if artefacts else "eval.json")
    atomic_write_bytes(written, json.dumps(metrics, indent=1).encode())
    log.info("report written to %s", written)
    log_summary(metrics)
    if artefacts and logger_cfg and "wandb" in logger_cfg:
        log_to_wandb(logger_cfg["wandb"], metrics, files, run_dir, run_config or {})
    return metrics


def write_pictures(out: Path, world: WorldModel, store: EpisodeStore, settings: ReportSettings, clips: EvalClips,
                   dream: Dream) -> dict[str, Path]:
    """dream.gif, reconstruction.gif, the action grid and the t-SNE of latent actions (+ PNG stills)."""
    log.info("report: dream.gif, reconstruction.gif, action grid, t-SNE")
    scale, fps = settings.scale, settings.fps
    video = dream_video(dream, scale)
    grid = action_grid_video(world, store, settings.split, settings.grid_rows, settings.grid_steps, max(1, scale - 1))
    reconstruction = reconstruction_video(world, dream.real[: settings.reconstruction_frames], scale)
    return {
        "dream": write_gif(out / "dream.gif", video, fps),
        "reconstruction": write_gif(out / "reconstruction.gif", reconstruction, fps),
        "latent_actions_tsne": tsne_plot(out / "latent_actions_tsne.png", clips, store, settings.tsne_points,
                                         settings.seed),
        "action_grid": write_gif(out / "action_grid.gif", grid, fps / 2),
        "dream_strip": write_png(out / "dream_strip.png", frame_strip(video, every=max(1, len(video) // 8),
                                                                      max_frames=8)),
        "action_grid_last": write_png(out / "action_grid_last.png", grid[-1]),
    }


def log_to_wandb(wandb_cfg, metrics: dict[str, float], files: dict[str, Path], run_dir: Path,
                 config: dict[str, Any]) -> None:
    """A W&B run for the artefacts, in the group of the run's stages, with its config, tags and notes, every metric
    keeping its best value in the summary (genie/wandb_runs.py); GIFs are logged from file paths, which needs no
    moviepy."""
    import wandb

    run = wandb.init(**init_settings(run_dir, wandb_cfg, "dream", config))
    define_best(run, metrics)
    run.log(metrics | {
        "media/dream": wandb.Video(str(files["dream"]), format="gif"),
        "media/reconstruction": wandb.Video(str(files["reconstruction"]), format="gif"),
        "media/latent_actions_tsne": wandb.Image(str(files["latent_actions_tsne"])),
        "media/action_grid": wandb.Video(str(files["action_grid"]), format="gif"),
        **({"media/long_play": wandb.Video(str(files["long_play"]), format="gif")} if "long_play" in files else {}),
        **({"media/grounding": wandb.Image(str(files["grounding"]))} if "grounding" in files else {}),
    })
    run.finish()
