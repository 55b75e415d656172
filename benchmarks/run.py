"""Measure training throughput per stage, data loading, dream speed, and collect the latest run's quality metrics.

    python benchmarks/run.py [--run runs/<dir>] [--steps 20] [--ceiling-steps 800] [--no-long-play]
                             [--tokenizer-run runs/<tokenizer run>] [--out benchmarks/results/latest.json]

Speed is measured on the default (demo) model sizes with random weights (speed does not depend on the weights);
quality comes from ``<run>/dream/metrics.json`` of a trained run. For a CoinRun run, the latent actions are also
scored on random-agent and scripted-agent test levels beside a supervised inverse-dynamics ceiling, and the world's
long play (realism, player in view over 256 dreamed steps) is measured on both.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import OmegaConf, open_dict

from genie.cli import register_resolvers
from genie.precision import cpu_precision
from genie.world import WorldModel

ROOT = Path(__file__).resolve().parents[1]


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {torch.get_num_threads()} threads, torch {torch.__version__}, {platform.system()}"


def default_modules():
    register_resolvers()
    with initialize_config_dir(config_dir=str(ROOT / "genie" / "configs"), version_base="1.3"):
        cfg = compose("train", overrides=["paths.root_dir=.", "paths.output_dir=."])
    with open_dict(cfg):
        cfg.model.lam.net.window = cfg.window
    modules = {s: instantiate(cfg.model[s], _convert_="all") for s in ("tokenizer", "lam", "dynamics")}
    return cfg, modules


def synthetic_batch(stage: str, cfg, batch: int) -> dict[str, torch.Tensor]:
    T = 1 if stage == "tokenizer" else cfg.window + 1
    if stage == "dynamics":
        K, A = cfg.model.dynamics.net.num_codes, cfg.model.dynamics.net.num_actions
        return {"tokens": torch.randint(0, K, (batch, T, 16, 16)), "latent_actions": torch.randint(0, A, (batch, T - 1))}
    return {"frames": torch.randint(0, 256, (batch, T, 64, 64, 3), dtype=torch.uint8),
            "actions": torch.zeros(batch, T - 1, dtype=torch.long)}


def train_throughput(stage: str, module, cfg, steps: int, precision: str) -> float:
    """Optimiser steps of the stage's own loss; returns samples (clips) per second."""
    batch_size = cfg.budget[stage].batch_size
    batch = synthetic_batch(stage, cfg, batch_size)
    optimizer = torch.optim.AdamW(module.parameters(), lr=1e-4)
    module.train()

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16-mixed"):
            loss = module.compute_loss(batch)[0]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    for _ in range(3):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * batch_size / (time.perf_counter() - start)


def data_throughput(store_root: Path, clip_len: int, batch: int = 32, batches: int = 30) -> float:
    from torch.utils.data import DataLoader

    from genie.data.clips import PixelClips

    loader = DataLoader(PixelClips(store_root, "train", clip_len), batch_size=batch, shuffle=True)
    it = iter(loader)
    next(it)
    start = time.perf_counter()
    for _ in range(batches):
        next(it)
    return batches * batch / (time.perf_counter() - start)


def video_import(clip_len: int, files: int = 6, frames: int = 300, size: int = 256) -> dict[str, float]:
    """Import a folder of ``files`` mp4 videos (``size``x``size``, synthetic sprites) into a 64 px store; returns the
    import speed (decoded frames/s) and the clips/s a DataLoader reads from the imported store."""
    import tempfile

    import numpy as np

    from genie.data.synthetic import synthetic_episode
    from genie.data.video import encode_video
    from genie.data.video_import import import_video_folder

    with tempfile.TemporaryDirectory() as tmp:
        for i in range(files):
            video_THWC, _ = synthetic_episode(np.random.default_rng(i), size, frames)
            encode_video(Path(tmp) / "videos" / f"clip {i}.mp4", video_THWC, fps=30)
        start = time.perf_counter()
        store, _ = import_video_folder(Path(tmp) / "videos", Path(tmp) / "store", 64, split={"train": 1.0})
        seconds = time.perf_counter() - start
        return {"video_import_frames_per_s": round(files * frames / seconds, 1),
                "video_store_clips_per_s": round(data_throughput(store.root, clip_len), 1)}


def dream_fps(modules, steps: int = 64) -> float:
    world = WorldModel(modules["tokenizer"].net, modules["lam"].net, modules["dynamics"].net, 64)
    context = torch.randint(0, world.tokenizer.num_codes, (1, world.window, 16, 16))
    actions = torch.randint(0, world.num_actions, (1, steps))
    world.decode(world.rollout(context, actions[:, :4]))  # warm-up
    start = time.perf_counter()
    world.decode(world.rollout(context, actions))
    return steps / (time.perf_counter() - start)


def coinrun_store(data: str, *overrides: str):
    """The CoinRun store of a data config (``coinrun``: actions held for 8 steps; ``coinrun_random``: a random
    button every step; ``overrides`` such as ``data.distribution_mode=hard``), generated on first use."""
    from genie.data.prepare import prepare_store

    with initialize_config_dir(config_dir=str(ROOT / "genie" / "configs"), version_base="1.3"):
        cfg = compose("prepare", overrides=[f"data={data}", f"paths.root_dir={ROOT}", *overrides])
    return prepare_store(OmegaConf.to_container(cfg.data, resolve=True))


def agent_of(store) -> str:
    """How a CoinRun store's episodes were played: ``expert`` (data=coinrun_expert), ``scripted_agent`` (random
    buttons held, ``data.hold`` > 1) or ``random_agent``."""
    if store.manifest["extra"].get("agent") == "expert":
        return "expert"
    return "scripted_agent" if store.manifest["extra"].get("hold", 1) > 1 else "random_agent"


def stores_of_both_agents(store) -> dict:
    """{agent: store}: the run's own store and, for CoinRun, the other agent's (held-action or random) too."""
    stores = {agent_of(store): store}
    if store.source == "coinrun":
        other = coinrun_store("coinrun_random" if agent_of(store) == "scripted_agent" else "coinrun")
        stores[agent_of(other)] = other
    return stores


def latent_actions_vs_ceiling(run: Path, ceiling_steps: int) -> dict:
    """NMI of the run's latent actions with true actions and effects on random-agent and scripted-agent CoinRun,
    beside the supervised ceiling (the LAM's encoder trained on true labels, benchmarks/inverse_dynamics.py)."""
    from inverse_dynamics import supervised_ceiling  # benchmarks/inverse_dynamics.py, as this script is run

    from genie.eval.evaluate import evaluate
    from genie.runs import open_store_of_run

    store = open_store_of_run(run)  # the ceiling trains on the run's own store
    stores = stores_of_both_agents(store)  # test levels of both agents, whichever the run was trained on
    world = WorldModel.load(run)
    results = {name: {"lam": {k.removeprefix("lam/"): v for k, v in evaluate(world, s, "test", 2048).metrics.items()
                              if k.startswith("lam/")}}
               for name, s in stores.items()}
    ceiling = supervised_ceiling(store, world.lam.cfg, stores, ceiling_steps)
    for name, scores in ceiling.items():
        results[name]["supervised_ceiling"] = scores | {"train_steps": ceiling_steps}
    return results


def long_play_quality(run: Path) -> dict:
    """Long-play metrics (report defaults) of the run on its own test levels and, for CoinRun, on the other agent's
    test levels too (held-action and random-agent play)."""
    from genie.eval.long_play import long_play
    from genie.eval.settings import DREAM_COMMAND_KEYS, ReportSettings
    from genie.runs import open_store_of_run

    stores = stores_of_both_agents(open_store_of_run(run))
    with initialize_config_dir(config_dir=str(ROOT / "genie" / "configs"), version_base="1.3"):
        report = OmegaConf.to_container(compose("dream", overrides=[f"paths.root_dir={ROOT}"]), resolve=False)
    settings = ReportSettings.from_config(report, ignore=DREAM_COMMAND_KEYS)
    world = WorldModel.load(run)
    return {name: long_play(world, s, "test", settings.long_play, settings.temperature, settings.seed).metrics
            for name, s in stores.items()}


def tokenizer_quality(run: Path, frames: int = 2048) -> dict:
    """A run's tokenizer (e.g. a tokenizer-only run) on ``frames`` frames spread over its store's test levels."""
    from genie.checkpoints import load_module, resolve_checkpoint
    from genie.eval.held_out import held_out_clips
    from genie.eval.metrics import code_stats, psnr_of_mean_mse, ssim
    from genie.nn.pixels import to_model
    from genie.runs import open_store_of_run

    net = load_module(resolve_checkpoint(run, "tokenizer"), "tokenizer").net.eval()
    frames_N = held_out_clips(open_store_of_run(run), "test", 1, frames)  # one-frame clips spread over the split
    recon, target, tokens = [], [], []
    with torch.no_grad():
        for start in range(0, min(len(frames_N), frames), 256):
            batch = [frames_N[i]["frames"][0] for i in range(start, min(start + 256, len(frames_N), frames))]
            x_BCHW = to_model(torch.stack(batch))
            tokens.append(net.encode(x_BCHW))
            recon.append(net.decode(tokens[-1]))
            target.append(x_BCHW)
    recon, target = torch.cat(recon), torch.cat(target)
    return {"run": str(run), "frames": len(target), "psnr": round(psnr_of_mean_mse(recon, target), 2),
            "ssim": round(ssim(recon, target), 4),
            "codebook_usage": round(code_stats(torch.cat(tokens), net.num_codes)["usage"], 4)}


def latest_run(log_dir: Path) -> Path | None:
    runs = sorted(log_dir.glob("*/dream/metrics.json"), key=lambda p: p.stat().st_mtime)
    return runs[-1].parent.parent if runs else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, default=None, help="trained run for quality metrics (default: latest)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--tokenizer-run", type=Path, action="append", default=[],
                        help="also score this run's tokenizer on 2 048 held-out test frames (repeatable)")
    parser.add_argument("--ceiling-steps", type=int, default=800,
                        help="training steps of the supervised LAM ceiling (0: skip the LAM-vs-ceiling section)")
    parser.add_argument("--long-play", action=argparse.BooleanOptionalAction, default=True,
                        help="score long play (256-step rollouts) on both CoinRun agents' test levels")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "latest.json")
    args = parser.parse_args()
    cfg, modules = default_modules()
    precision = cpu_precision()
    results: dict = {"machine": machine(), "precision": precision, "date": time.strftime("%Y-%m-%d"),
                     "train_samples_per_s": {}, "config": OmegaConf.to_container(cfg.budget)}
    for stage, module in modules.items():
        results["train_samples_per_s"][stage] = round(train_throughput(stage, module, cfg, args.steps, precision), 1)
        print(f"train {stage}: {results['train_samples_per_s'][stage]} samples/s", flush=True)
    results["dream_frames_per_s"] = round(dream_fps(modules), 1)
    print(f"dream: {results['dream_frames_per_s']} frames/s (batch 1, decoding included)")
    results.update(video_import(cfg.window + 1))
    print(f"video import: {results['video_import_frames_per_s']} frames/s (256 px mp4 -> 64 px store); "
          f"DataLoader from it: {results['video_store_clips_per_s']} clips/s")
    run = args.run or latest_run(ROOT / "runs")
    if run is not None:
        world = json.loads((run / "world.json").read_text())
        results["data_clips_per_s"] = round(data_throughput(Path(world["data"]), cfg.window + 1), 1)
        results["quality"] = json.loads((run / "dream" / "metrics.json").read_text())
        results["quality_run"] = str(run)
        if args.ceiling_steps > 0:
            results["latent_actions"] = latent_actions_vs_ceiling(run, args.ceiling_steps)
            print(json.dumps(results["latent_actions"], indent=1))
        if args.long_play:
            results["long_play"] = long_play_quality(run)
            print(json.dumps(results["long_play"], indent=1))
    for tokenizer_run in args.tokenizer_run:
        results.setdefault("tokenizers", []).append(tokenizer_quality(tokenizer_run))
        print(f"tokenizer of {tokenizer_run}: {results['tokenizers'][-1]}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
