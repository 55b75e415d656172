"""Time ``EpisodeStore.add_episode`` as a store grows: does one episode cost the same at 100, 1 000 and 10 000?

    python benchmarks/store_writes.py [--episodes 10000] [--frames 20] [--size 64] [--dir /tmp]
                                      [--out benchmarks/results/store_writes.json]

Writes ``--episodes`` episodes of ``uint8 [frames, size, size, 3]`` (plus ``frames - 1`` actions) into a temporary
store, timing each ``add_episode``. The time "at N" is the mean (and median) over the 100 episodes that bring the
store to N (episodes N-99..N), so it is the cost of one more episode in a store of about N. Also timed: folding
the journal into ``manifest.json`` (``mark_complete``) and opening the finished store. The store is deleted
afterwards (10 000 episodes of 20 x 64 x 64 x 3 take 2.5 GB).
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from genie.data.store import EpisodeStore

ROOT = Path(__file__).resolve().parents[1]
WINDOW = 100  # episodes averaged for each "time at N"


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown CPU")
    return f"{cpu}, {platform.system()}"


def time_writes(root: Path, episodes: int, frames: int, size: int) -> tuple[np.ndarray, float, float]:
    """Seconds of each add_episode [episodes], of mark_complete, and of opening the complete store."""
    store = EpisodeStore.create(root, "benchmark", frame_size=size, num_actions=4)
    rng = np.random.default_rng(0)
    frames_THWC = rng.integers(0, 256, (frames, size, size, 3), dtype=np.uint8)  # incompressible, as real frames
    actions_T = rng.integers(0, 4, frames - 1)
    seconds_E = np.empty(episodes)
    for e in range(episodes):
        start = time.perf_counter()
        store.add_episode(f"train_{e:06d}", frames_THWC, actions_T, meta={"level_seed": e})
        seconds_E[e] = time.perf_counter() - start
    start = time.perf_counter()
    store.mark_complete()
    fold = time.perf_counter() - start
    start = time.perf_counter()
    assert len(EpisodeStore(root)) == episodes
    return seconds_E, fold, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--episodes", type=int, default=10_000)
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--dir", default=None, help="where the temporary store goes (default: the system's temp)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "store_writes.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="store_writes_") as tmp:
        seconds_E, fold, reopen = time_writes(Path(tmp), args.episodes, args.frames, args.size)
    at = {n: seconds_E[n - WINDOW : n] for n in (100, 1_000, 10_000, args.episodes) if WINDOW <= n <= args.episodes}
    ms_per_episode = {str(n): {"mean": round(1e3 * float(s.mean()), 3), "median": round(1e3 * float(np.median(s)), 3)}
                      for n, s in sorted(at.items())}
    first, last = ms_per_episode[str(min(at))], ms_per_episode[str(max(at))]
    result = {
        "what": "EpisodeStore.add_episode, ms per episode over the 100 episodes that bring the store to N",
        "episode": f"uint8 [{args.frames}, {args.size}, {args.size}, 3] + int16 [{args.frames - 1}] actions",
        "episodes": args.episodes,
        "ms_per_episode_at": ms_per_episode,
        f"ratio_{max(at)}_vs_{min(at)}": {"mean": round(last["mean"] / first["mean"], 3),
                                          "median": round(last["median"] / first["median"], 3)},
        "ms_per_episode_overall": round(1e3 * float(seconds_E.mean()), 3),
        "mark_complete_s": round(fold, 3),
        "open_complete_store_s": round(reopen, 3),
        "machine": machine(),
        "date": time.strftime("%Y-%m-%d"),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
