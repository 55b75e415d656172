"""Episode store: a directory of memory-mapped episodes plus one ``manifest.json``.

Layout (DESIGN §3)::

    store/
      manifest.json                 format version, source, frame size, fps, action space, episodes
      journal.jsonl                 episodes added or removed since manifest.json was written (while writing)
      episodes/<name>.frames.npy    uint8 [T, H, W, 3]
      episodes/<name>.actions.npy   int16 [T-1]   (optional; actions[t] happened between frames t and t+1)

Frames are read with ``np.load(mmap_mode="r")``, so a clip costs only its own pages and a store far larger than RAM
trains with bounded memory. Every array goes to a temporary file that is renamed into place; an episode is recorded
(one fsynced journal line: ``{"add": <episode entry>}`` or ``{"remove": <name>}``) only after both of its arrays are
complete, so an interrupted generation never leaves a half episode that reads as whole, and re-running it continues
where it stopped. Adding an episode costs the same however many the store holds. ``mark_complete`` (and
``mark_incomplete``) fold the journal into ``manifest.json`` and delete it, so a finished store is one manifest
listing every episode; a store being written is its manifest plus its journal, which readers replay.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from genie.data.journal import JOURNAL_NAME, Journal
from genie.errors import UserError

FORMAT_VERSION = 1
SPLITS = ("train", "val", "test")


class StoreError(UserError, ValueError):
    """A store, manifest or episode file is missing or malformed. The message names the file."""


@dataclass
class EpisodeInfo:
    name: str
    length: int  # number of frames T
    split: str
    has_actions: bool = False
    meta: dict[str, Any] = field(default_factory=dict)  # e.g. {"level_seed": 17} or {"source_file": "a.mp4"}


@contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """Write ``path`` through a temporary file in the same folder, synced and renamed into place on success: a
    reader sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_file(path) as f:
        f.write(data)


def atomic_save_npy(path: Path, array: np.ndarray) -> None:
    with atomic_file(path) as f:
        np.save(f, array)


_OPEN_FILES: OrderedDict[os.PathLike, int] = OrderedDict()  # least recently used read-only descriptors
MAX_OPEN_FILES = 64


def read_into(path: os.PathLike, out: np.ndarray, offset: int) -> None:
    """Fill the contiguous array ``out`` with the bytes of ``path`` from ``offset``, in one positioned read. A
    positioned read leaves the descriptor's offset alone, so processes forked with it open cannot disturb each other."""
    if not hasattr(os, "preadv"):  # e.g. Windows
        out.reshape(-1)[:] = np.fromfile(path, np.uint8, count=out.nbytes, offset=offset)
        return
    fd = _OPEN_FILES.pop(path, None)
    if fd is None:
        fd = os.open(path, os.O_RDONLY)
        if len(_OPEN_FILES) >= MAX_OPEN_FILES:
            os.close(_OPEN_FILES.popitem(last=False)[1])
    _OPEN_FILES[path] = fd
    if out.nbytes and os.preadv(fd, [out], offset) != out.nbytes:
        raise StoreError(f"{path}: the file ends before byte {offset + out.nbytes}")


def forget_open_file(path: Path) -> None:
    """Close the cached descriptor of a file that is being replaced or deleted (it would read the old bytes)."""
    fd = _OPEN_FILES.pop(path.resolve(), None)
    if fd is not None:
        os.close(fd)


class EpisodeStore:
    """Read and append episodes of ``uint8 [T, H, W, 3]`` frames (and optional ``int [T-1]`` actions)."""

    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser()
        manifest_path = self.root / "manifest.json"
        if not manifest_path.is_file():
            raise StoreError(f"{manifest_path}: no episode store here (manifest.json missing)")
        try:
            manifest = json.loads(manifest_path.read_text())
        except json.JSONDecodeError as e:
            raise StoreError(f"{manifest_path}: not valid JSON ({e})") from e
        for key in ("format_version", "source", "frame_size", "episodes"):
            if key not in manifest:
                raise StoreError(f"{manifest_path}: missing key '{key}'")
        if manifest["format_version"] != FORMAT_VERSION:
            raise StoreError(
                f"{manifest_path}: format_version {manifest['format_version']} != supported {FORMAT_VERSION}"
            )
        self.manifest = manifest
        infos = [episode_info(entry, manifest_path) for entry in manifest["episodes"]]
        self._episodes = {info.name: info for info in infos}
        self._journal = Journal(self.root / JOURNAL_NAME)
        for entry in self._journal.read():
            if "add" in entry:
                info = episode_info(entry["add"], self._journal.path)
                self._episodes[info.name] = info
            elif "remove" in entry:
                self._episodes.pop(entry["remove"], None)
            else:
                raise StoreError(f"{self._journal.path}: entry {entry} is neither an 'add' nor a 'remove'")
        self._maps: dict[str, np.ndarray] = {}  # opened and checked once; file-backed pages stay reclaimable

    # ------------------------------------------------------------------ creation
    @classmethod
    def create(
        cls,
        root: str | Path,
        source: str,
        frame_size: int,
        fps: float | None = None,
        num_actions: int | None = None,
        action_meanings: list[str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> "EpisodeStore":
        """Open the store at ``root``, creating an empty one if absent. An existing store must match ``source`` and
        ``frame_size`` (so a resumed generation appends to the right store)."""
        root = Path(root).expanduser()
        manifest_path = root / "manifest.json"
        if manifest_path.is_file():
            store = cls(root)
            if store.source != source or store.frame_size != frame_size:
                raise StoreError(
                    f"{manifest_path}: existing store has source={store.source!r} frame_size={store.frame_size}, "
                    f"asked for source={source!r} frame_size={frame_size}; use another data.path"
                )
            return store
        manifest = {
            "format_version": FORMAT_VERSION,
            "source": source,
            "frame_size": frame_size,
            "fps": fps,
            "num_actions": num_actions,
            "action_meanings": action_meanings,
            "extra": extra or {},
            "complete": False,
            "episodes": [],
        }
        (root / JOURNAL_NAME).unlink(missing_ok=True)  # left by a store whose manifest was deleted
        atomic_write_bytes(manifest_path, json.dumps(manifest, indent=1).encode())
        return cls(root)

    def add_episode(
        self,
        name: str,
        frames: np.ndarray,
        actions: np.ndarray | None = None,
        split: str = "train",
        meta: dict[str, Any] | None = None,
    ) -> EpisodeInfo:
        """Write one episode atomically. ``frames``: uint8 [T, H, W, 3]; ``actions``: int [T-1] or None."""
        self._check_frames(frames, f"episode '{name}'")
        if split not in SPLITS:
            raise StoreError(f"episode '{name}': split must be one of {SPLITS}, got {split!r}")
        if actions is not None:
            actions = np.asarray(actions)
            if actions.shape != (len(frames) - 1,) or not np.issubdtype(actions.dtype, np.integer):
                raise StoreError(
                    f"episode '{name}': actions must be int [T-1] = [{len(frames) - 1}], "
                    f"got {actions.dtype} {list(actions.shape)}"
                )
        ep_dir = self.root / "episodes"
        self._forget(name)
        if actions is not None:
            atomic_save_npy(ep_dir / f"{name}.actions.npy", actions.astype(np.int16))
        atomic_save_npy(ep_dir / f"{name}.frames.npy", np.ascontiguousarray(frames))
        info = EpisodeInfo(name, int(len(frames)), split, actions is not None, dict(meta or {}))
        self._journal.append({"add": asdict(info)})
        self._episodes[name] = info
        return info

    def remove_episode(self, name: str) -> None:
        """Drop an episode: first from the record (one journal line), then its files."""
        if name not in self._episodes:
            raise StoreError(f"{self.root}: no episode '{name}' to remove")
        self._journal.append({"remove": name})
        del self._episodes[name]
        self._forget(name)
        for kind in ("frames", "actions"):
            (self.root / "episodes" / f"{name}.{kind}.npy").unlink(missing_ok=True)

    def _forget(self, name: str) -> None:
        """Drop what this process holds open of an episode's files (maps, descriptors) before they change."""
        self._maps.pop(name, None)
        self._maps.pop(f"{name}/actions", None)
        forget_open_file(self.root / "episodes" / f"{name}.frames.npy")

    def mark_incomplete(self) -> None:
        """Record that the store is being changed (an update of an import); ``mark_complete`` ends it."""
        if self.complete:
            self.manifest["complete"] = False
            self._write_manifest()

    def mark_complete(self, **extra: Any) -> None:
        """Record that a generation/import finished; a cached store is reused only when complete."""
        self.manifest["complete"] = True
        self.manifest["extra"].update(extra)
        self._write_manifest()

    def _write_manifest(self) -> None:
        """Fold the journal into ``manifest.json``. Killed between the rewrite and the journal's deletion, the store
        replays a journal the manifest already holds, which changes nothing: each episode ends as its last entry
        left it."""
        self.manifest["episodes"] = [asdict(e) for e in self._episodes.values()]
        atomic_write_bytes(self.root / "manifest.json", json.dumps(self.manifest, indent=1).encode())
        self._journal.delete()

    # ------------------------------------------------------------------ reading
    @property
    def source(self) -> str:
        return self.manifest["source"]

    @property
    def fps(self) -> float | None:
        """Frames per second of the recorded game or video, where known."""
        return self.manifest.get("fps")

    @property
    def frame_size(self) -> int:
        return int(self.manifest["frame_size"])

    @property
    def num_actions(self) -> int | None:
        return self.manifest.get("num_actions")

    @property
    def action_meanings(self) -> list[str] | None:
        return self.manifest.get("action_meanings")

    def effects(self) -> tuple[list[int], list[str]] | None:
        """(effect class of each action id, effect names) where the store's actions are named: CoinRun groups its 15
        buttons into LEFT / RIGHT / JUMP / NOTHING; elsewhere each named action is its own effect (an Atari game's
        minimal action set, e.g. Breakout's NOOP, FIRE, RIGHT, LEFT). None for a store without actions."""
        extra = self.manifest.get("extra", {})
        if "action_effects" in extra:
            return extra["action_effects"], extra["effect_names"]
        if self.action_meanings:
            return list(range(len(self.action_meanings))), list(self.action_meanings)
        return None

    @property
    def complete(self) -> bool:
        return bool(self.manifest.get("complete"))

    def __contains__(self, name: str) -> bool:
        return name in self._episodes

    def __len__(self) -> int:
        return len(self._episodes)

    def episodes(self, split: str | None = None) -> list[EpisodeInfo]:
        return [e for e in self._episodes.values() if split is None or e.split == split]

    def frames(self, name: str) -> np.ndarray:
        """Memory-mapped uint8 [T, H, W, 3]; slicing reads only the pages touched."""
        if name in self._maps:
            return self._maps[name]
        path = self.root / "episodes" / f"{name}.frames.npy"
        info = self._episodes[name]
        array = self._load(path)
        self._check_frames(array, str(path))
        if len(array) != info.length:
            raise StoreError(f"{path}: manifest says {info.length} frames, file holds {len(array)}")
        self._maps[name] = array
        return array

    def read_frames(self, name: str, start: int, stop: int) -> np.ndarray:
        """Frames ``start:stop`` as a fresh uint8 [stop - start, H, W, 3] array, read with one positioned read instead
        of through the memory map: the process's resident memory stays at the size of what it holds, however much of
        a store larger than RAM it reads (touched pages of a map count as resident until the kernel evicts them)."""
        mapped = self.frames(name)  # validated header; no page of the map is touched
        start, stop = max(0, start), min(stop, len(mapped))
        out = np.empty((max(stop - start, 0), *mapped.shape[1:]), np.uint8)
        read_into(mapped.filename, out, mapped.offset + start * mapped.strides[0])
        return out

    def actions(self, name: str) -> np.ndarray | None:
        """int16 [T-1] or None when the source has no action labels."""
        if not self._episodes[name].has_actions:
            return None
        if f"{name}/actions" in self._maps:
            return self._maps[f"{name}/actions"]
        path = self.root / "episodes" / f"{name}.actions.npy"
        array = self._load(path)
        if array.shape != (self._episodes[name].length - 1,) or not np.issubdtype(array.dtype, np.integer):
            raise StoreError(f"{path}: expected int [T-1], got {array.dtype} {list(array.shape)}")
        self._maps[f"{name}/actions"] = array
        return array

    @staticmethod
    def _load(path: Path) -> np.ndarray:
        if not path.is_file():
            raise StoreError(f"{path}: episode file missing")
        try:
            return np.load(path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:
            raise StoreError(f"{path}: unreadable .npy ({e})") from e

    def _check_frames(self, frames: np.ndarray, where: str) -> None:
        size = self.frame_size
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[1:] != (size, size, 3):
            raise StoreError(
                f"{where}: frames must be uint8 [T, {size}, {size}, 3], got {frames.dtype} {list(frames.shape)}"
            )
        if len(frames) < 2:
            raise StoreError(f"{where}: an episode needs at least 2 frames, got {len(frames)}")


def episode_info(entry: dict[str, Any], path: Path) -> EpisodeInfo:
    """One episode entry of ``path`` (the manifest or the journal), checked."""
    try:
        return EpisodeInfo(**entry)
    except TypeError as e:
        raise StoreError(f"{path}: malformed episode entry ({e}); expected keys name, length, split") from None
