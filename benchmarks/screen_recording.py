"""A gameplay screen recording made locally, the kind a hobbyist brings: an Atari game (ALE) played by a person-like
policy that holds keys, its 210x160 screen scaled up to screen-recording size and encoded with H.264 by PyAV.

ALE runs at 60 Hz; at ``fps`` = 30 each recorded frame is 2 emulator frames. The policy is the sticky random agent of
``data=atari`` (``genie.data.atari``): it keeps the key it holds with probability ``sticky`` each frame, so at 0.95 a
key is held for 20 frames (2/3 s) on average. Game overs reset the game and the recording goes on, as a session
would. The true action of every transition is saved beside the video (``<name>.actions.npy``, int16 [T-1]) for
comparisons; the video folder import never reads it.
"""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np

from genie.data.atari import make_env, sticky_random_actions

ALE_HZ = 60


def record_gameplay(path: str | Path, game: str = "Breakout", seconds: float = 200.0, fps: int = 30,
                    scale: int = 2, sticky: float = 0.95, seed: int = 0, crf: int = 18) -> dict:
    """Play ``game`` for ``seconds`` and write it to ``path`` (H.264, yuv420p, ``scale`` x 210x160 pixels, nearest
    neighbour like a screen capture of a pixel-art game); returns what was written (also in ``<name>.json``)."""
    if ALE_HZ % fps:
        raise ValueError(f"fps={fps}: must divide ALE's {ALE_HZ} Hz")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    env = make_env(game, frameskip=ALE_HZ // fps, repeat_action_probability=0.0)
    rng = np.random.default_rng(seed)
    policy = sticky_random_actions(rng, int(env.action_space.n), sticky)
    frames = round(seconds * fps)
    actions, games = np.zeros(frames - 1, np.int16), 1
    observation, _ = env.reset(seed=seed)
    partial = path.with_name(f".{path.name}.partial{path.suffix}")
    with av.open(str(partial), "w") as container:
        stream = container.add_stream("libx264", rate=fps, options={"crf": str(crf), "preset": "fast"})
        stream.height, stream.width = observation.shape[0] * scale, observation.shape[1] * scale
        stream.pix_fmt = "yuv420p"
        for t in range(frames):
            screen_HWC = observation.repeat(scale, axis=0).repeat(scale, axis=1)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(screen_HWC, format="rgb24")))
            if t == frames - 1:
                break
            actions[t] = next(policy)
            observation, _, terminated, truncated, _ = env.step(int(actions[t]))
            if terminated or truncated:
                observation, _ = env.reset(seed=seed + games)
                games += 1
        container.mux(stream.encode())
    env.close()
    partial.replace(path)
    np.save(path.with_suffix(".actions.npy"), actions)
    info = {"video": path.name, "game": game, "frames": frames, "fps": fps, "seconds": frames / fps,
            "width": stream.width, "height": stream.height, "codec": "h264", "crf": crf, "sticky": sticky,
            "seed": seed, "games": games, "bytes": path.stat().st_size}
    path.with_suffix(".json").write_text(json.dumps(info, indent=1))
    return info
