"""A folder of gameplay videos of a procgen game, the kind a hobbyist brings: one video per level, played by keys held
the way a person holds them, rendered at procgen's full 512x512 and encoded with H.264 by PyAV.

    python benchmarks/procgen_recordings.py [--game ninja] [--levels 32] [--max-seconds 60]
                                            [--folder data/recordings/ninja]

A level is recorded from its first frame until the episode ends (a death, the level finished) or ``--max-seconds``
at procgen's 15 frames/s. The keys are the key-response evaluation's person (``genie.eval.key_response``): LEFT,
RIGHT, UP (jump) or nothing, each drawn uniformly and held 4-12 frames. The button of every transition is saved beside
its video (``<name>.actions.npy``, int16 [T-1], procgen's 15-button ids) for comparisons; the video folder import never
reads it. Levels are drawn from seeds ``--start-level`` on, none of which CoinRun's training levels share a game with.
Recordings already in the folder are kept.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import av
import numpy as np

from genie.data.coinrun import ACTION_MEANINGS, GAME_FPS
from genie.eval.key_response import KEY_BUTTONS, person_like_keys

ROOT = Path(__file__).resolve().parents[1]


def record_level(path: Path, game: str, level: int, max_frames: int, rng: np.random.Generator, crf: int = 20) -> dict:
    """Play one level of ``game`` with person-like keys and write it to ``path`` (atomically, with its actions)."""
    from procgen import ProcgenGym3Env

    env = ProcgenGym3Env(num=1, env_name=game, start_level=level, num_levels=1, distribution_mode="easy",
                         render_mode="rgb_array")
    keys = person_like_keys(1, max_frames, 4, 12, rng)[0]
    buttons = np.asarray(KEY_BUTTONS)[keys]
    actions = []
    partial = path.with_name(f".{path.name}.partial{path.suffix}")
    with av.open(str(partial), "w") as container:
        stream = container.add_stream("libx264", rate=GAME_FPS, options={"crf": str(crf), "preset": "fast"})
        screen_HWC = env.get_info()[0]["rgb"]
        stream.height, stream.width = screen_HWC.shape[:2]
        stream.pix_fmt = "yuv420p"
        for t in range(max_frames):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(screen_HWC, format="rgb24")))
            if t == max_frames - 1:
                break
            env.act(buttons[t : t + 1])
            _, _, first = env.observe()
            if first[0]:  # the episode ended: its next frame is another level's start
                break
            actions.append(buttons[t])
            screen_HWC = env.get_info()[0]["rgb"]
        container.mux(stream.encode())
    partial.replace(path)
    np.save(path.with_suffix(".actions.npy"), np.asarray(actions, np.int16))
    info = {"video": path.name, "game": game, "level": level, "frames": len(actions) + 1, "fps": GAME_FPS,
            "width": stream.width, "height": stream.height, "codec": "h264", "crf": crf,
            "keys": [ACTION_MEANINGS[b] for b in KEY_BUTTONS], "hold_frames": [4, 12]}
    path.with_suffix(".json").write_text(json.dumps(info, indent=1))
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--game", default="ninja")
    parser.add_argument("--levels", type=int, default=32)
    parser.add_argument("--start-level", type=int, default=500_000)
    parser.add_argument("--max-seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--folder", type=Path, default=None, help="default: data/recordings/<game>")
    args = parser.parse_args()
    folder = args.folder or ROOT / "data" / "recordings" / args.game
    folder.mkdir(parents=True, exist_ok=True)
    frames = 0
    for level in range(args.start_level, args.start_level + args.levels):
        path = folder / f"{args.game}_{level}.mp4"
        if path.is_file():
            info = json.loads(path.with_suffix(".json").read_text())
        else:
            info = record_level(path, args.game, level, round(args.max_seconds * GAME_FPS),
                                np.random.default_rng([args.seed, level]))
        frames += info["frames"]
        print(f"{path.name}: {info['frames']} frames")
    print(f"{args.levels} recordings of {args.game}, {frames} frames ({frames / GAME_FPS / 60:.1f} min) in {folder}")


if __name__ == "__main__":
    main()
