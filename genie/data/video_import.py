"""Import a folder of videos into an episode store: every video file becomes an episode of uint8 [T, S, S, 3] frames.

- **Incremental and resumable.** Every episode records its file's relative path, size and mtime. A re-run imports only
  new or changed files, drops the episodes of files that were removed or changed, and reuses everything else, so an
  interrupted import continues where it stopped and training can point straight at a folder that grows.
- **Atomic per file.** A file's frames are staged in a temporary file until the whole file has decoded and passed the
  checks of ``VideoReader``; only then are its episodes written (each atomically). A damaged file never leaves a part.
- **Split by file or by time** (``split_by``). By file: files are ordered by a hash of their relative path and dealt
  out to train/val/test in the configured proportions, so held-out videos are unseen ones. By time: every video
  gives contiguous blocks to every split, train first, then val, then test at its end, ``split_gap`` frames apart
  (dropped), so no clip straddles two splits and every game in a mixed folder is in every split. ``auto`` splits by
  file only when each held-out split gets ``FILES_PER_HELD_OUT_SPLIT`` files or more: one recording, or a handful of
  different games, is split by time. The rule and why it was chosen are recorded in the manifest.
- **Held-out videos unlike the training ones.** Split by file, a held-out video whose colours are far from every
  training video's (another game, most likely) is named in a warning and in the manifest (``extra.unlike_training``).
- **Long videos** are cut into episodes of at most ``max_episode_len`` frames (same split; consecutive episodes share
  their boundary frame, so no transition is lost).
- **Bad files**: ``on_bad_file="error"`` stops at the first one with a ``VideoError`` naming it; ``"skip"`` logs it,
  counts it and records why in the manifest (``extra.skipped``).
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from genie.data.store import SPLITS, EpisodeStore
from genie.data.video import VIDEO_EXTENSIONS, VideoError, VideoReader, is_video_file
from genie.errors import UserError

log = logging.getLogger(__name__)

ON_BAD_FILE = ("error", "skip")
SPLIT_BY = ("auto", "file", "time")
DEFAULT_SPLIT = {"train": 0.9, "val": 0.05, "test": 0.05}
FILES_PER_HELD_OUT_SPLIT = 3  # split_by=auto: fewer held-out files than this per split and the split is by time
COLOUR_BINS = 4               # per channel: a video's colour signature is a 4x4x4 histogram
UNLIKE_DISTANCE = 0.5         # total-variation distance between signatures above which a held-out video is "unlike"


@dataclass
class SourceFile:
    path: Path
    rel: str  # relative to the folder, with "/" separators: the file's identity in the store
    size: int
    mtime_ns: int
    split: str = ""  # split by file: dealt out once the usable files are known; split by time: "" (every split)
    rule: str = ""   # the split rule its episodes were cut by (``split_rule``)

    def matches(self, meta: dict) -> bool:
        return (meta.get("size"), meta.get("mtime_ns")) == (self.size, self.mtime_ns)


@dataclass
class ImportCounts:
    files: int = 0
    imported: int = 0
    reused: int = 0
    removed: int = 0
    skipped: dict[str, dict] = field(default_factory=dict)  # relative path -> {size, mtime_ns, min_frames, reason}

    def __str__(self) -> str:
        return (f"{self.files} video files: {self.imported} imported, {self.reused} reused, {len(self.skipped)} "
                f"skipped; {self.removed} gone from the folder")


def find_videos(folder: Path) -> list[Path]:
    """Every video file under ``folder`` (recursively, any case of extension), in a stable order."""
    return sorted((p for p in folder.rglob("*") if is_video_file(p)), key=lambda p: p.as_posix())


def file_hash(rel: str) -> str:
    return hashlib.sha1(rel.encode("utf-8")).hexdigest()


def check_fractions(fractions: dict[str, float]) -> None:
    unknown = set(fractions) - set(SPLITS)
    if unknown or any(f < 0 for f in fractions.values()) or fractions.get("train", 0) <= 0:
        raise UserError(f"data.split={fractions}: expected non-negative shares of {', '.join(SPLITS)} with train > 0")


def files_per_split(n: int, fractions: dict[str, float]) -> dict[str, int]:
    """How many of ``n`` files each split gets: in proportion to ``fractions`` (largest remainder); every split with
    a non-zero share gets at least one file when there are enough files."""
    check_fractions(fractions)
    total = sum(fractions.values())
    wanted = {s: n * fractions.get(s, 0) / total for s in SPLITS}
    counts = {s: math.floor(w) for s, w in wanted.items()}
    for s in sorted(SPLITS, key=lambda s: counts[s] - wanted[s])[: n - sum(counts.values())]:
        counts[s] += 1
    for s in SPLITS:
        if wanted[s] > 0 and counts[s] == 0 and counts["train"] > 1:
            counts[s], counts["train"] = 1, counts["train"] - 1
    return counts


def assign_splits(rels: list[str], fractions: dict[str, float]) -> dict[str, str]:
    """Deal files out to splits (``files_per_split``), ordered by the hash of their relative path."""
    counts = files_per_split(len(rels), fractions)
    ordered = sorted(rels, key=file_hash)
    splits, start = {}, 0
    for s in ("val", "test", "train"):
        splits.update({rel: s for rel in ordered[start : start + counts[s]]})
        start += counts[s]
    return splits


def check_split_by(split_by: str) -> None:
    if split_by not in SPLIT_BY:
        raise UserError(f"data.split_by={split_by!r}: expected one of {', '.join(SPLIT_BY)}")


def choose_split_rule(n_files: int, fractions: dict[str, float], split_by: str) -> tuple[str, str]:
    """("file" | "time", why) for ``n_files`` usable files under ``data.split_by``."""
    check_split_by(split_by)
    if split_by != "auto":
        return split_by, f"data.split_by={split_by}"
    counts = files_per_split(n_files, fractions)
    held_out = {s: counts[s] for s in SPLITS if s != "train" and fractions.get(s, 0) > 0}
    if all(c >= FILES_PER_HELD_OUT_SPLIT for c in held_out.values()):
        return "file", (f"{n_files} usable files, at least {FILES_PER_HELD_OUT_SPLIT} per held-out split: whole "
                        "videos are held out (data.split_by=auto)")
    return "time", (f"{n_files} usable file{'s' * (n_files != 1)}: a split by file would hold out "
                     f"{' and '.join(f'{c} in {s}' for s, c in held_out.items())}, too few to stand for the folder, "
                     "so every video gives its last frames to val and test (data.split_by=auto; data.split_by=file "
                     "holds out whole videos)")


def time_rule(fractions: dict[str, float], gap: int) -> str:
    """The manifest's name for a split by time: a file's episodes are reused only under the same rule."""
    shares = ",".join(f"{s}={fractions.get(s, 0):g}" for s in SPLITS)
    return f"time {shares} gap={gap}"


def time_blocks(length: int, fractions: dict[str, float], gap: int, min_frames: int) -> list[tuple[str, int, int]]:
    """(split, start, stop) of one video split by time: train from the start, then val, then test at the end, each
    held-out block at least ``min_frames`` long and ``gap`` frames after the block before it. A video too short for
    that trains whole."""
    total = sum(fractions.values())
    held_out = [s for s in ("val", "test") if fractions.get(s, 0) > 0]
    usable = length - gap * len(held_out)
    sizes = {s: max(min_frames, round(usable * fractions[s] / total)) for s in held_out}
    train = usable - sum(sizes.values())
    if train < min_frames:
        return [("train", 0, length)]
    blocks, start = [("train", 0, train)], train
    for s in held_out:
        start += gap
        blocks.append((s, start, start + sizes[s]))
        start += sizes[s]
    return blocks


def colour_signature(frames_THWC: np.ndarray, max_frames: int = 64) -> list[float]:
    """A video's colours: the normalised COLOUR_BINS^3 RGB histogram of up to ``max_frames`` evenly spread frames."""
    picked = frames_THWC[np.linspace(0, len(frames_THWC) - 1, min(max_frames, len(frames_THWC))).astype(int)]
    bins = (picked.reshape(-1, 3) // (256 // COLOUR_BINS)).astype(np.int64)
    counts = np.bincount((bins[:, 0] * COLOUR_BINS + bins[:, 1]) * COLOUR_BINS + bins[:, 2],
                         minlength=COLOUR_BINS**3)
    return [round(float(c), 4) for c in counts / counts.sum()]


def unlike_training(store: EpisodeStore) -> dict[str, float]:
    """Held-out files (split by file) whose colour signature is more than UNLIKE_DISTANCE (total variation) from
    every training file's: {relative path: distance to the nearest training file}."""
    signatures: dict[str, dict[str, np.ndarray]] = {s: {} for s in SPLITS}
    for info in store.episodes():
        if "colours" in info.meta:
            signatures[info.split][info.meta["file"]] = np.asarray(info.meta["colours"])
    if not signatures["train"]:
        return {}
    train = np.stack(list(signatures["train"].values()))
    far = {}
    for split in ("val", "test"):
        for rel, signature in signatures[split].items():
            nearest = float(0.5 * np.abs(train - signature).sum(1).min())
            if nearest > UNLIKE_DISTANCE:
                far[rel] = round(nearest, 3)
    return far


def segment_bounds(length: int, max_len: int) -> list[tuple[int, int]]:
    """``[start, stop)`` of near-equal segments of at most ``max_len`` frames; neighbours share one frame."""
    transitions = length - 1
    pieces = max(1, math.ceil(transitions / (max_len - 1)))
    cuts = [round(i * transitions / pieces) for i in range(pieces + 1)]
    return [(cuts[i], cuts[i + 1] + 1) for i in range(pieces)]


def import_video_folder(
    folder: str | Path | None,
    root: str | Path,
    frame_size: int,
    fit: str = "crop",
    fps: float | None = None,
    split: dict[str, float] | None = None,
    on_bad_file: str = "error",
    min_frames: int = 8,
    max_episode_len: int = 1000,
    split_by: str = "auto",
    split_gap: int = 32,
) -> tuple[EpisodeStore, ImportCounts]:
    """Bring the store at ``root`` up to date with the videos under ``folder``; returns it and what this run did.
    Writes nothing when the store is already up to date."""
    if folder is None:
        raise UserError("data.path: set it to a folder of videos, e.g. data=video_folder data.path=$HOME/videos")
    folder = Path(folder).expanduser().resolve()
    if not folder.is_dir():
        raise UserError(f"data.path={folder}: no such folder")
    if on_bad_file not in ON_BAD_FILE:
        raise UserError(f"data.on_bad_file={on_bad_file!r}: expected one of {', '.join(ON_BAD_FILE)}")
    if min_frames < 2 or max_episode_len < min_frames:
        raise UserError(f"data.min_frames={min_frames}, data.max_episode_len={max_episode_len}: "
                        "expected 2 <= min_frames <= max_episode_len")
    fractions = dict(split or DEFAULT_SPLIT)
    check_fractions(fractions)
    if split_gap < 0:
        raise UserError(f"data.split_gap={split_gap}: expected a number of frames >= 0")
    check_split_by(split_by)
    paths = find_videos(folder)
    if not paths:
        raise VideoError(f"{folder}: no video files here ({', '.join(VIDEO_EXTENSIONS)}, searched recursively)")
    found = [SourceFile(p, p.relative_to(folder).as_posix(), p.stat().st_size, p.stat().st_mtime_ns) for p in paths]
    store = EpisodeStore.create(root, source="video_folder", frame_size=frame_size, fps=fps,
                                extra={"folder": str(folder), "fit": fit})
    recorded = store.manifest["extra"].get("skipped", {})
    counts = ImportCounts(files=len(found), skipped={  # unchanged files that were bad last time stay skipped
        f.rel: recorded[f.rel] for f in found
        if f.rel in recorded and f.matches(recorded[f.rel]) and recorded[f.rel].get("min_frames") == min_frames
    })
    counts.removed = len({e.meta.get("file") for e in store.episodes()} - {f.rel for f in found})
    changing = False
    while True:  # a second pass only when new bad files were found: the splits are dealt over usable files
        if counts.skipped and on_bad_file == "error":
            rel, record = next(iter(counts.skipped.items()))
            raise VideoError(f"{folder / rel}: {record['reason']} (data.on_bad_file=skip skips bad files)")
        usable = [f for f in found if f.rel not in counts.skipped]
        rule, reason = choose_split_rule(len(usable), fractions, split_by)
        splits = assign_splits([f.rel for f in usable], fractions) if rule == "file" else {}
        for f in usable:
            f.split = splits.get(f.rel, "")
            f.rule = "file" if rule == "file" else time_rule(fractions, split_gap)
        todo, stale, counts.reused = plan(store, usable)
        if not (todo or stale):
            break
        if not changing:
            store.mark_incomplete()
            for tmp in store.root.glob(".import-*.tmp"):  # staging left by an interrupted run
                tmp.unlink()
            changing = True
        for name in stale:
            store.remove_episode(name)
        bad_before = len(counts.skipped)
        for source in tqdm(todo, desc="import videos", unit="file", disable=not todo):
            try:
                import_file(store, source, frame_size, fit, fps, min_frames, max_episode_len, fractions, split_gap)
                counts.imported += 1
            except VideoError as e:
                if on_bad_file == "error":
                    raise VideoError(f"{e} (data.on_bad_file=skip skips bad files)") from None
                log.warning("skipping %s", e)
                counts.skipped[source.rel] = {"size": source.size, "mtime_ns": source.mtime_ns,
                                              "min_frames": min_frames,
                                              "reason": str(e).removeprefix(f"{source.path}: ")}
        if len(counts.skipped) == bad_before:
            break
    extra = store.manifest["extra"]
    if changing or not store.complete or counts.skipped != recorded or extra.get("split_reason") != reason:
        check_splits(store, folder, fractions, counts, rule)
        far = unlike_training(store) if rule == "file" else {}
        store.mark_complete(folder=str(folder), files=counts.files, skipped=counts.skipped, split_by=rule,
                            split_reason=reason, unlike_training=far)
    log.info("%s: %s", store.root, counts)
    log.info("split by %s: %s", rule, reason)
    for rel, distance in store.manifest["extra"].get("unlike_training", {}).items():
        log.warning("held-out video %s looks unlike every training video (colour distance %.2f to the nearest): "
                    "its scores measure another game; data.split_by=time puts every video in every split",
                    rel, distance)
    return store, counts


def plan(store: EpisodeStore, usable: list[SourceFile]) -> tuple[list[SourceFile], list[str], int]:
    """The files to (re)import, the stale episodes to drop (of files gone, changed, re-split or now bad), and how
    many files are reused as they are."""
    by_file: dict[str, list] = {}
    for info in store.episodes():
        by_file.setdefault(info.meta.get("file"), []).append(info)
    todo, stale, reused = [], [], 0
    for source in usable:
        episodes = by_file.pop(source.rel, [])
        complete = bool(episodes) and len(episodes) == episodes[0].meta.get("segments")
        same_rule = all(e.meta.get("split_rule", "file") == source.rule for e in episodes) and (
            source.rule != "file" or all(e.split == source.split for e in episodes))
        if complete and same_rule and all(source.matches(e.meta) for e in episodes):
            reused += 1
            continue
        stale += [info.name for info in episodes]
        todo.append(source)
    stale += [info.name for episodes in by_file.values() for info in episodes]
    return todo, stale, reused


def import_file(store: EpisodeStore, source: SourceFile, frame_size: int, fit: str, fps: float | None,
                min_frames: int, max_episode_len: int, fractions: dict[str, float], split_gap: int) -> None:
    """Decode one file into staging, check it, then write its episodes: all in ``source.split``, or, split by time,
    its blocks in every split. Raises ``VideoError`` naming the file."""
    reader = VideoReader(source.path, frame_size, fit, fps)
    fd, staging = tempfile.mkstemp(dir=store.root, prefix=".import-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            for frame_HWC in reader:
                f.write(frame_HWC.tobytes())
        if reader.kept < min_frames:
            after = f" after subsampling to {fps} fps" if fps and reader.kept < reader.decoded else ""
            raise reader.fail(f"{reader.kept} frame{'s' * (reader.kept != 1)}{after}; an episode needs at least "
                              f"{min_frames} (data.min_frames)")
        frames_THWC = np.memmap(staging, np.uint8, "r", shape=(reader.kept, frame_size, frame_size, 3))
        if source.rule == "file":
            blocks = [(source.split, 0, reader.kept)]
        else:
            blocks = time_blocks(reader.kept, fractions, split_gap, min_frames)
        bounds = [(split, block_start + start, block_start + stop) for split, block_start, block_stop in blocks
                  for start, stop in segment_bounds(block_stop - block_start, max_episode_len)]
        effective_fps = min(fps, reader.source_fps) if fps and reader.source_fps else (fps or reader.source_fps)
        for k, (split, start, stop) in enumerate(bounds):
            meta = {"file": source.rel, "size": source.size, "mtime_ns": source.mtime_ns, "segment": k,
                    "segments": len(bounds), "first_frame": start, "fps": effective_fps,
                    "source_size": [reader.width, reader.height], "split_rule": source.rule}
            if k == 0:
                meta["colours"] = colour_signature(frames_THWC)
            store.add_episode(f"{file_hash(source.rel)[:16]}_{k:03d}", frames_THWC[start:stop], split=split,
                              meta=meta)
        del frames_THWC
    finally:
        Path(staging).unlink(missing_ok=True)


def check_splits(store: EpisodeStore, folder: Path, fractions: dict[str, float], counts: ImportCounts,
                 rule: str) -> None:
    """Every split with a non-zero share needs an episode, or training has nothing to validate/test on."""
    if not store.episodes():
        first = next(iter(counts.skipped.items()))
        raise VideoError(f"{folder}: none of the {counts.files} video files could be imported "
                         f"(e.g. {first[0]}: {first[1]['reason']})")
    for s in SPLITS:
        if fractions.get(s, 0) <= 0 or store.episodes(s):
            continue
        if rule == "time":
            longest = max(e.length for e in store.episodes())
            raise VideoError(f"{folder}: no frames for the '{s}' split: split by time, every video is too short to "
                             f"give each split data.min_frames frames data.split_gap apart (longest: {longest} "
                             "frames); use longer videos, a smaller data.split_gap or data.min_frames")
        raise VideoError(
            f"{folder}: no video in the '{s}' split ({len(store.episodes())} episodes from "
            f"{counts.files - len(counts.skipped)} usable files, data.split={fractions}); every split needs at "
            "least one file: add videos (3 or more) or change data.split"
        )
