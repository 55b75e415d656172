"""Token store: an episode store encoded once by a tokenizer (and labelled by a LAM), for dynamics training.

Layout::

    tokens/
      manifest.json                       which tokenizer/LAM made it, codebook size, token grid, episodes
      journal.jsonl                       episodes encoded since manifest.json was written (until complete)
      episodes/<name>.tokens.npy          int16 [T, h, w]   codes in [0, codebook_size)
      episodes/<name>.latent_actions.npy  int16 [T-1]       LAM code of the transition t -> t+1
      episodes/<name>.actions.npy         int16 [T-1]       true actions, where the source has them

The manifest records the checkpoints it was made from; a store made by other checkpoints is not reused. Each encoded
episode appends one line to the journal (constant cost per episode, see ``genie.data.journal``); ``mark_complete``
folds the journal into the manifest.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genie.data.clips import NO_ACTION, _LazyStore, clip_index
from genie.data.journal import JOURNAL_NAME, Journal
from genie.data.store import StoreError, atomic_save_npy, atomic_write_bytes


class TokenStore:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        path = self.root / "manifest.json"
        if not path.is_file():
            raise StoreError(f"{path}: no token store here")
        self.manifest = json.loads(path.read_text())
        self._journal = Journal(self.root / JOURNAL_NAME)
        # keyed by name: an entry replayed twice (killed while folding the journal) is still one episode
        self._episodes = {e["name"]: e for e in [*self.manifest["episodes"], *self._journal.read()]}
        self._maps: dict[str, np.ndarray] = {}

    @classmethod
    def create(cls, root: str | Path, header: dict[str, Any]) -> "TokenStore":
        root = Path(root)
        path = root / "manifest.json"
        if path.is_file():
            store = cls(root)
            if store.manifest["header"] == header:
                return store
            # made by other checkpoints or settings: start over
            for f in (root / "episodes").glob("*.npy"):
                f.unlink()
        (root / JOURNAL_NAME).unlink(missing_ok=True)
        atomic_write_bytes(path, json.dumps({"header": header, "complete": False, "episodes": []}, indent=1).encode())
        return cls(root)

    @property
    def header(self) -> dict[str, Any]:
        return self.manifest["header"]

    @property
    def complete(self) -> bool:
        return bool(self.manifest["complete"])

    def episodes(self, split: str | None = None) -> list[dict[str, Any]]:
        return [e for e in self._episodes.values() if split is None or e["split"] == split]

    def names(self) -> set[str]:
        return set(self._episodes)

    def add_episode(
        self, name: str, split: str, tokens: np.ndarray, latent_actions: np.ndarray, actions: np.ndarray | None
    ) -> None:
        ep = self.root / "episodes"
        atomic_save_npy(ep / f"{name}.latent_actions.npy", latent_actions.astype(np.int16))
        if actions is not None:
            atomic_save_npy(ep / f"{name}.actions.npy", np.asarray(actions, np.int16))
        atomic_save_npy(ep / f"{name}.tokens.npy", tokens.astype(np.int16))
        entry = {"name": name, "split": split, "length": int(len(tokens)), "has_actions": actions is not None}
        self._journal.append(entry)
        self._episodes[name] = entry

    def mark_complete(self) -> None:
        """Fold the journal into the manifest, which then lists every episode."""
        self.manifest["complete"] = True
        self.manifest["episodes"] = list(self._episodes.values())
        atomic_write_bytes(self.root / "manifest.json", json.dumps(self.manifest, indent=1).encode())
        self._journal.delete()

    def array(self, name: str, kind: str) -> np.ndarray:
        """Memory-mapped array of one episode (``kind``: tokens, latent_actions or actions), opened once."""
        key = f"{name}.{kind}"
        if key not in self._maps:
            self._maps[key] = np.load(self.root / "episodes" / f"{key}.npy", mmap_mode="r")
        return self._maps[key]


class TokenClips(_LazyStore):
    """Items: ``tokens`` int64 [T, h, w], ``latent_actions`` int64 [T-1], ``actions`` int64 [T-1] (true or -1)."""

    def __init__(self, root: str | Path, split: str, clip_len: int, stride: int = 1):
        super().__init__(root)
        self.clip_len = clip_len
        episodes = TokenStore(root).episodes(split)
        if not episodes:
            raise ValueError(f"{root}: the token store has no '{split}' episodes")
        self.episodes = episodes
        self.index = clip_index([e["length"] for e in episodes], clip_len, stride)

    def open(self, root: str) -> TokenStore:
        return TokenStore(root)

    def __len__(self) -> int:
        return len(self.index)

    def clip_actions(self, kind: str, position: int) -> np.ndarray:
        """Each clip's action at ``position`` of its actions (``kind``: latent_actions or actions): int64 [N]; -1
        where an episode has no true actions."""
        actions_N = np.full(len(self.index), NO_ACTION, np.int64)
        for episode, info in enumerate(self.episodes):
            if kind == "actions" and not info["has_actions"]:
                continue
            rows = np.flatnonzero(self.index[:, 0] == episode)
            actions_N[rows] = self.store.array(info["name"], kind)[self.index[rows, 1] + position]
        return actions_N

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        episode, start = self.index[i]
        info = self.episodes[episode]
        stop = start + self.clip_len
        tokens = np.asarray(self.store.array(info["name"], "tokens")[start:stop], np.int64)
        latent = np.asarray(self.store.array(info["name"], "latent_actions")[start : stop - 1], np.int64)
        if info["has_actions"]:
            actions = np.asarray(self.store.array(info["name"], "actions")[start : stop - 1], np.int64)
        else:
            actions = np.full(self.clip_len - 1, NO_ACTION, np.int64)
        return {
            "tokens": torch.from_numpy(tokens),
            "latent_actions": torch.from_numpy(latent),
            "actions": torch.from_numpy(actions),
        }
