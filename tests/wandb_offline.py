"""Reading an offline W&B run directory (``<run>/wandb/offline-run-<time>-<id>``) the way ``wandb sync`` would.

``run-<id>.wandb`` is a LevelDB-style log of protobuf ``Record``s: a 7-byte file header (``:W&B``, magic 0xBEE1,
version 0), then 32 KiB blocks of chunks, each a 7-byte header (crc32, length, type: 1 full, 2 first, 3 middle,
4 last) and its bytes; a block's last < 7 bytes are padding.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

from wandb.proto import wandb_internal_pb2

BLOCK = 32768
HEADER = 7
FULL, FIRST, LAST = 1, 2, 4


def records(run_folder: Path) -> list[wandb_internal_pb2.Record]:
    """Every record of the run's transaction log, in order."""
    (log_file,) = Path(run_folder).glob("run-*.wandb")
    data = log_file.read_bytes()
    ident, magic, version = struct.unpack("<4sHB", data[:HEADER])
    assert (ident, magic, version) == (b":W&B", 0xBEE1, 0), f"{log_file}: not a W&B transaction log"
    found, pending, at = [], b"", HEADER
    while at + HEADER <= len(data):
        if BLOCK - at % BLOCK < HEADER:  # padding at a block's end
            at += BLOCK - at % BLOCK
            continue
        _, length, kind = struct.unpack("<IHB", data[at : at + HEADER])
        chunk = data[at + HEADER : at + HEADER + length]
        at += HEADER + length
        pending = chunk if kind in (FULL, FIRST) else pending + chunk
        if kind in (FULL, LAST):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            found.append(record)
    return found


def run_config(run_folder: Path) -> dict:
    """The run's config: its keys (top level) and their values (decoded from JSON), last update wins."""
    config = {}
    for record in records(run_folder):
        kind = record.WhichOneof("record_type")
        updates = record.run.config.update if kind == "run" else record.config.update if kind == "config" else []
        config |= {item.key: json.loads(item.value_json) for item in updates}
    return config


def run_header(run_folder: Path) -> wandb_internal_pb2.RunRecord:
    """The run record: ``run_id``, ``run_group``, ``display_name``, ..."""
    return next(r.run for r in records(run_folder) if r.WhichOneof("record_type") == "run")


def run_folders(run_dir: Path) -> list[Path]:
    """The offline W&B runs written under ``<run_dir>/wandb``, oldest first."""
    return sorted((Path(run_dir) / "wandb").glob("offline-run-*"))


def media_files(run_folder: Path) -> list[str]:
    """Paths of the run's media files relative to its ``files/media``, e.g.
    ``images/val/reconstruction_1_<hash>.png``."""
    media = Path(run_folder) / "files" / "media"
    return sorted(str(p.relative_to(media)) for p in media.rglob("*") if p.is_file())
