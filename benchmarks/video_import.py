"""The hobbyist's recording: make one, then time its import into an episode store.

    python benchmarks/video_import.py [--game Breakout] [--seconds 200] [--folder data/recordings/breakout]
                                      [--frame-size 64] [--fit stretch] [--out benchmarks/results/video_import.json]

The recording (``benchmarks/screen_recording.py``: ALE at 30 fps, keys held like a person holds them, 420x320 H.264) is made
once into ``--folder`` and reused. The import (decode, fit to the frame size, split by time, write the store) runs
into a fresh temporary store and is timed end to end; frames/s counts the frames decoded.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from screen_recording import record_gameplay  # benchmarks/screen_recording.py, as this script is run

from genie.data.summary import describe
from genie.data.video_import import import_video_folder

ROOT = Path(__file__).resolve().parents[1]


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown CPU")
    return cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--game", default="Breakout")
    parser.add_argument("--seconds", type=float, default=200.0)
    parser.add_argument("--folder", type=Path, default=ROOT / "data" / "recordings" / "breakout")
    parser.add_argument("--frame-size", type=int, default=64)
    parser.add_argument("--fit", default="stretch")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "video_import.json")
    args = parser.parse_args()

    video = args.folder / f"{args.game.lower()}.mp4"
    if video.is_file():
        recording = json.loads(video.with_suffix(".json").read_text())
        print(f"reusing {video}")
    else:
        start = time.perf_counter()
        recording = record_gameplay(video, args.game, args.seconds)
        recording["record_seconds"] = round(time.perf_counter() - start, 1)
        print(f"recorded {video}: {recording}")
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        store, _ = import_video_folder(args.folder, Path(tmp) / "store", args.frame_size, fit=args.fit)
        seconds = time.perf_counter() - start
        summary = describe(store)
    frames = recording["frames"]
    result = {
        "machine": machine(),
        "recording": recording,
        "import": {"frame_size": args.frame_size, "fit": args.fit, "seconds": round(seconds, 2),
                   "frames_per_second": round(frames / seconds, 1), "summary": summary},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print("\n".join(summary))
    print(f"import: {frames} frames of {recording['width']}x{recording['height']} in {seconds:.1f} s = "
          f"{frames / seconds:.0f} frames/s -> {args.out}")


if __name__ == "__main__":
    main()
