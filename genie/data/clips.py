"""Clip datasets: fixed-length windows cut from episodes, read lazily from episode stores.

A clip of ``clip_len = window + 1`` frames is ``x_{t-window+1} .. x_{t+1}``; its last transition is the one the LAM
labels and the dynamics model predicts. Stores are opened per worker on first use (never pickled), so DataLoader
workers and ``ddp_spawn`` processes each open the files themselves; pixel clips are read with positioned reads
(``EpisodeStore.read_frames``), so resident memory stays bounded however large the store.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from genie.data.store import EpisodeStore, StoreError

NO_ACTION = -1  # true-action placeholder for unlabelled sources


class _LazyStore(Dataset):
    """Base: holds a path, opens the store lazily in each process."""

    def __init__(self, root: str | Path):
        self.root = str(root)
        self._store = None

    @property
    def store(self):
        if self._store is None:
            self._store = self.open(self.root)
        return self._store

    def open(self, root: str):
        raise NotImplementedError

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_store"] = None
        return state


def clip_index(lengths: list[int], clip_len: int, stride: int = 1) -> np.ndarray:
    """All (episode, start) pairs whose clip fits inside the episode: int64 [N, 2]."""
    rows = [
        np.stack([np.full(len(starts), e), starts], axis=1)
        for e, length in enumerate(lengths)
        if len(starts := np.arange(0, length - clip_len + 1, stride)) > 0
    ]
    if not rows:
        raise StoreError(f"no episode is long enough for clips of {clip_len} frames (lengths: {lengths[:10]}...)")
    return np.concatenate(rows).astype(np.int64)


class PixelClips(_LazyStore):
    """Items: ``frames`` uint8 [T, H, W, 3], ``actions`` int64 [T-1] (true actions or -1), ``episode``, ``start``."""

    def __init__(self, root: str | Path, split: str, clip_len: int, stride: int = 1):
        super().__init__(root)
        self.clip_len = clip_len
        episodes = EpisodeStore(root).episodes(split)
        if not episodes:
            raise StoreError(f"{root}: the store has no '{split}' episodes")
        self.names = [e.name for e in episodes]
        self.index = clip_index([e.length for e in episodes], clip_len, stride)

    def open(self, root: str) -> EpisodeStore:
        return EpisodeStore(root)

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        episode, start = self.index[i]
        name = self.names[episode]
        frames = self.store.read_frames(name, start, start + self.clip_len)  # a read, not a map: bounded memory
        actions = self.store.actions(name)
        if actions is None:
            actions_T = np.full(self.clip_len - 1, NO_ACTION, np.int64)
        else:
            actions_T = np.asarray(actions[start : start + self.clip_len - 1], np.int64)
        return {
            "frames": torch.from_numpy(frames),
            "actions": torch.from_numpy(actions_T),
            "episode": torch.tensor(episode),
            "start": torch.tensor(start),
        }
