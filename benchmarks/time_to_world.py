"""Where the time to a playable world goes outside training: pre-tokenising the store, dreaming at batch 1 (the
report's dream speed, and what one step costs: dynamics, decoding, the key controller), a play session's steps, and
the end-of-run report train.py writes.

    python -m benchmarks.time_to_world --run runs/<A> [--repeats 5] [--no-report]
                                       [--out benchmarks/results/time_to_world.json]

``--run``: a trained run (the latest under runs/ by default). Speeds are medians of ``--repeats`` timings in one
process; the machine is named in the JSON. Close other work first: on 2 cores a second process halves everything.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import genie.cli  # noqa: F401  first: the entry points' OpenMP waiting policy, set before torch starts

import numpy as np
import torch

from benchmarks.run import latest_run, machine
from genie.checkpoints import read_world
from genie.controls.key_controls import KeyControls
from genie.data.store import EpisodeStore
from genie.play.session import GameKeys, PlaySession
from genie.precision import cpu_precision
from genie.training.tokenize import build_token_store
from genie.world import WorldModel, encode_frames, infer_latent_actions

ROOT = Path(__file__).resolve().parents[1]


def median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up: first calls pick kernels and allocate
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def tokenize_speed(run: Path) -> dict[str, float]:
    """Frames/s of pre-tokenising the run's whole store as the dynamics stage does (tokens + latent actions, into a
    scratch token store), and of its two halves alone on the first 20 train episodes."""
    world = WorldModel.load(run)
    store = EpisodeStore(read_world(run)["data"])
    count = sum(e.length for e in store.episodes())
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        build_token_store(store, world.tokenizer, world.lam, Path(tmp) / "tokens", {"benchmark": True})
        total = time.perf_counter() - start
    frames = [torch.from_numpy(np.array(store.frames(e.name))) for e in store.episodes("train")[:20]]
    some = sum(len(f) for f in frames)
    with torch.inference_mode():
        encode = median_seconds(lambda: [encode_frames(world.tokenizer, f) for f in frames], 1)
        label = median_seconds(lambda: [infer_latent_actions(world.lam, f) for f in frames], 1)
    return {"frames": count, "pre_tokenise_seconds": round(total, 1), "pre_tokenise_frames_per_s": round(count / total, 1),
            "tokenizer_encode_frames_per_s": round(some / encode, 1), "lam_label_frames_per_s": round(some / label, 1)}


def dream_speed(run: Path, repeats: int, steps: int = 64) -> dict[str, float]:
    """The report's dream speed (``steps`` dreamed frames at batch 1, then decoded) and one step's parts."""
    world = WorldModel.load(run)
    store = EpisodeStore(read_world(run)["data"])
    name = next(e.name for e in store.episodes("test") if e.length > world.window)
    context = world.encode(torch.from_numpy(np.array(store.frames(name)[: world.window]))[None])
    actions = torch.randint(0, world.num_actions, (1, steps), generator=torch.Generator().manual_seed(0))
    rollout = median_seconds(lambda: world.decode(world.rollout(context, actions)), repeats)
    step = median_seconds(lambda: world.step(context, actions[:, 0]), repeats * 20)
    decode = median_seconds(lambda: world.decode(context[:, -1:]), repeats * 20)
    result = {"dream_frames_per_s": round(steps / rollout, 1), "dynamics_step_ms": round(1000 * step, 3),
              "decode_frame_ms": round(1000 * decode, 3)}
    if (controls := KeyControls.load(run, world.device)) is not None:
        effect, held = torch.tensor([0]), torch.tensor([1])
        result["key_controller_ms"] = round(1000 * median_seconds(
            lambda: controls.choose(context, effect, held), repeats * 20), 3)
    return result


def play_speed(run: Path, threads: int, steps: int = 200) -> dict[str, float]:
    """Model steps/s of a play session (the key controller where the run has one, the dynamics, decoding one frame)
    with ``threads`` torch threads, as ``dream.py mode=play`` runs them."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        world = WorldModel.load(run)
        store = EpisodeStore(read_world(run)["data"])
        controls = KeyControls.load(run, world.device)
        session = PlaySession(world, game_keys=GameKeys(controls) if controls is not None else None)
        name = next(e.name for e in store.episodes("test") if e.length > world.window)
        session.reset(np.array(store.frames(name)[: world.window]))
        session.hold(1 % world.num_actions)
        for _ in range(10):
            session.step()
        start = time.perf_counter()
        for _ in range(steps):
            session.step()
        return {"play_threads": threads, "play_model_steps_per_s": round(steps / (time.perf_counter() - start), 1)}
    finally:
        torch.set_num_threads(before)


def report_seconds(run: Path) -> float:
    """Seconds of train.py's end-of-run report (the ``quick`` report group) on the run, written to a scratch folder."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from genie.cli import register_resolvers
    from genie.eval.report import write_report
    from genie.eval.settings import ReportSettings

    register_resolvers()
    with initialize_config_dir(config_dir=str(ROOT / "genie" / "configs"), version_base="1.3"):
        cfg = compose("train", overrides=[f"paths.root_dir={ROOT}", "paths.output_dir=."])
    with tempfile.TemporaryDirectory() as tmp:
        values = OmegaConf.to_container(cfg.dream, resolve=True) | {"out_dir": tmp}
        settings = ReportSettings.from_config(values, device="cpu")
        start = time.perf_counter()
        write_report(run, EpisodeStore(read_world(run)["data"]), settings)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, default=None, help="a trained run (default: the latest under runs/)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--play-threads", type=int, default=1, help="torch threads of the play session (play.threads)")
    parser.add_argument("--report", action=argparse.BooleanOptionalAction, default=True,
                        help="time train.py's end-of-run report (about 90 s)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "time_to_world.json")
    args = parser.parse_args()
    run = args.run or latest_run(ROOT / "runs")
    if run is None:
        raise SystemExit("no trained run under runs/: pass --run runs/<A>")
    results = {"machine": machine(), "precision": cpu_precision(), "date": time.strftime("%Y-%m-%d"), "run": str(run)}
    results |= tokenize_speed(run)
    print(json.dumps(results, indent=1), flush=True)
    results |= dream_speed(run, args.repeats)
    results |= play_speed(run, args.play_threads)
    if args.report:
        results["report_seconds"] = round(report_seconds(run), 1)
    print(json.dumps(results, indent=1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
