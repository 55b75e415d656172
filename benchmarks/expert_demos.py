"""Videos of the scripted expert (genie/data/coinrun.py, ExpertPolicy), one episode per level, with its true buttons:
the demonstrations that behaviour cloning learns from. Cached as one ``.npz`` per level set, since the expert's
look-ahead costs ~30 simulator steps per step it plays.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from benchmarks.coinrun_levels import ignoring_playing, play_levels
from genie.data.coinrun import ExpertPolicy


def record_expert(seeds: np.ndarray, distribution_mode: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The expert's first episode on each level: (frames uint8 [T, H, W, 3], buttons int64 [T-1]) per level, where
    buttons[t] moved frames[t] to frames[t+1] (the episode's last button, which ended it, has no frame after it)."""
    frames: list[list[np.ndarray]] = [[] for _ in seeds]
    buttons: list[list[int]] = [[] for _ in seeds]

    def keep(obs_NHWC: np.ndarray, buttons_N: np.ndarray, playing_N: np.ndarray) -> None:
        for i in np.nonzero(playing_N)[0]:
            frames[i].append(obs_NHWC[i].copy())
            buttons[i].append(int(buttons_N[i]))

    play_levels(lambda env: ignoring_playing(ExpertPolicy(env)), seeds, distribution_mode, on_step=keep)
    return [np.stack(f) for f in frames], [np.asarray(b[:-1], np.int64) for b in buttons]


def cached_expert(seeds: np.ndarray, distribution_mode: str, cache_dir: Path) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``record_expert``, read from ``cache_dir`` when this level set was recorded before."""
    key = hashlib.sha1(np.asarray(seeds, np.int64).tobytes()).hexdigest()[:12]
    path = cache_dir / f"expert_{distribution_mode}_{len(seeds)}levels_{key}.npz"
    if path.exists():
        saved = np.load(path)
        lengths = saved["lengths"]
        bounds = np.cumsum(lengths)[:-1]
        return (list(np.split(saved["frames"], bounds)),
                list(np.split(saved["buttons"], bounds - np.arange(1, len(lengths)))))
    frames, buttons = record_expert(seeds, distribution_mode)
    cache_dir.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp.npz")
    np.savez_compressed(temporary, frames=np.concatenate(frames), buttons=np.concatenate(buttons),
                        lengths=np.asarray([len(f) for f in frames]))
    temporary.rename(path)
    return frames, buttons
