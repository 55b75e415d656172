"""Shards: the pixel clips of one split of an episode store, written as litdata chunks and streamed to many machines.

Layout::

    shards/
      shards.json          what was exported: store, split, clip_len L, stride, seed, frame size, episode names
      index.json           litdata's index of the chunks
      chunk-0-<k>.bin      items {frames uint8 [L, H, W, 3], actions int64 [L-1] (-1: unlabelled), episode, start}

Each item is one clip of the local store's ``PixelClips`` (same ``episode`` index into the split's episode list, same
``start``), so the two sources are interchangeable. Items are written in a seeded random order: litdata shuffles the
chunks and the items inside a chunk, never across chunks, so a chunk of consecutive clips would make batches of a
few episodes. A stage whose clips are shorter than ``L`` reads the first frames of each item. The folder is written
beside its final place and renamed into it when complete: readers see every shard or none.

Read them with ``ShardClips`` (genie/data/shard_clips.py), a litdata ``StreamingDataset``: each rank of a distributed
run, and each DataLoader worker, reads its own chunks. litdata's ``StreamingDataLoader`` has ``state_dict`` /
``load_state_dict``, which Lightning's fit loop saves in every checkpoint
(``loops.fit_loop.state_dict.combined_loader``) and loads on resume, so a resumed stage continues the stream where its
checkpoint was written instead of starting it again.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from genie.data.clips import PixelClips
from genie.data.store import EpisodeStore, StoreError, atomic_write_bytes
from genie.errors import UserError

log = logging.getLogger(__name__)

HEADER_NAME = "shards.json"
FORMAT_VERSION = 1


def require_litdata():
    """The litdata module, or a UserError saying how to install it (an optional dependency: the [stream] extra)."""
    try:
        import litdata
    except ImportError as e:
        raise UserError("streaming shards need litdata: pip install -e '.[stream]' (litdata 0.2.44; later "
                        "releases require torchvision)") from e
    return litdata


def export_shards(store: EpisodeStore, out: str | Path, split: str = "train", clip_len: int = 5, stride: int = 1,
                  seed: int = 0, chunk_bytes: str = "64MB") -> Path:
    """Write every clip of ``clip_len`` frames starting every ``stride`` frames of ``split`` to ``out``; returns it.
    Shards already at ``out`` from the same export are reused; shards of another export there are an error."""
    require_litdata()
    if clip_len < 1 or stride < 1:
        raise UserError(f"clip_len and stride must be >= 1, got clip_len={clip_len} stride={stride}")
    out = Path(out).expanduser()
    clips = PixelClips(store.root, split, clip_len, stride)
    header = {
        "format_version": FORMAT_VERSION, "store": str(store.root.resolve()), "source": store.source,
        "split": split, "clip_len": clip_len, "stride": stride, "seed": seed, "frame_size": store.frame_size,
        "clips": len(clips), "episodes": clips.names,
    }
    if (out / HEADER_NAME).is_file():
        existing = read_header(out)
        if existing != header:
            differ = sorted(k for k in header if existing.get(k) != header[k])
            raise StoreError(f"{out / HEADER_NAME}: shards of another export (differs in {differ}); "
                             "choose another data.stream or delete that folder")
        log.info("reusing %d shard clips at %s", header["clips"], out)
        return out
    if out.exists():
        raise StoreError(f"{out}: exists but holds no {HEADER_NAME}; choose another data.stream or delete it")
    partial = out.parent / f".{out.name}.{os.getpid()}-{os.urandom(3).hex()}.partial"
    partial.mkdir(parents=True)
    try:
        write_chunks(clips, partial, seed, chunk_bytes)
        atomic_write_bytes(partial / HEADER_NAME, json.dumps(header, indent=1).encode())
        os.replace(partial, out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    log.info("wrote %d %s clips of %d frames to %s", header["clips"], split, clip_len, out)
    return out


def read_header(folder: str | Path) -> dict[str, Any]:
    """The ``shards.json`` of a shard folder, checked."""
    path = Path(folder).expanduser() / HEADER_NAME
    if not path.is_file():
        raise StoreError(f"{path}: no shards here ({HEADER_NAME} missing); write them with "
                         f"python -m genie.commands.shard data=<source> data.stream={folder}")
    try:
        header = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise StoreError(f"{path}: not valid JSON ({e})") from e
    if header.get("format_version") != FORMAT_VERSION:
        raise StoreError(f"{path}: format_version {header.get('format_version')} != supported {FORMAT_VERSION}")
    return header


def write_chunks(clips: PixelClips, folder: Path, seed: int, chunk_bytes: str) -> None:
    """Every clip of ``clips`` into litdata chunks of about ``chunk_bytes`` in ``folder``, in a random order drawn
    from ``seed``."""
    from litdata.streaming.writer import BinaryWriter

    writer = BinaryWriter(str(folder), chunk_bytes=chunk_bytes)
    order = np.random.default_rng(seed).permutation(len(clips))
    for i, clip in enumerate(tqdm(order, desc="shards", unit="clip", disable=None)):
        item = clips[int(clip)]
        writer.add_item(i, {"frames": item["frames"].numpy(), "actions": item["actions"].numpy(),
                            "episode": int(item["episode"]), "start": int(item["start"])})
    writer.done()
    writer.merge()
