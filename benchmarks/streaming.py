"""Read throughput of streamed shards against the local episode store, per engine and DataLoader workers.

    python benchmarks/streaming.py [--store data/coinrun_hold8_skip1_easy_40000_s0] [--episodes 30] [--batches 60]
                                   [--repeats 3] [--dir /tmp] [--out benchmarks/results/streaming.json]

The first ``--episodes`` train episodes of a store are copied into a scratch store, and its clips of 5 frames
exported, in one seeded random order, by each engine that is installed: litdata (genie/data/shards.py, what
``data.stream`` reads), WebDataset (tar shards of .npy files) and Hugging Face datasets (parquet files streamed with
``load_dataset(streaming=True)``, batched by torchdata's ``StatefulDataLoader``, the loader that can resume it).
Each source is read shuffled, batches of 32, with ``num_workers`` 0 and 2, for ``--batches`` batches after one
warm-up batch; the scratch store itself (``PixelClips`` and the DataLoader ``train.py`` uses) is the reference.
Sources take turns within each repeat; the median clips/s over repeats is reported with its ratio to the local store
at the same workers. Every source is read from the page cache (all were just written): this measures the readers,
not a disk or a network filesystem. Torch runs on one thread (``--threads``): collating a batch in the main process
with 2 intra-op threads on 2 busy cores was 10-30x slower than with one, whatever the source.

Also recorded: each engine's export time and size, and its install footprint here (the distributions it pulls in
beyond mini-genie's own dependencies, and their size on disk), beside what pip would resolve next to torch 2.13.0.
An engine that is not installed is recorded as such and skipped; only litdata is a dependency (the [stream] extra).
The committed results read webdataset 1.0.2, datasets 5.2.0 (with pyarrow 24) and torchdata 0.11.0 from a scratch
venv layered over the project's (``python -m venv /tmp/engines``; a .pth file there naming .venv's site-packages;
``pip install -c <torch==2.13.0, numpy==1.26.4> webdataset datasets "pyarrow==24.*" torchdata``), run as
``PYTHONPATH=. /tmp/engines/bin/python benchmarks/streaming.py``.
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from packaging.requirements import Requirement
from run import machine  # benchmarks/run.py
from torch.utils.data import DataLoader

from genie.data.clips import PixelClips
from genie.data.store import EpisodeStore

ROOT = Path(__file__).resolve().parents[1]
CLIP_LEN, BATCH, WORKERS = 5, 32, (0, 2)
RESOLVED = {  # pip install --dry-run <engine> torch==2.13.0 into this project's venv, 2026-12-03
    "litdata": "0.2.76 adds torchvision 0.28.0 (every release from 0.2.45 requires torchvision), boto3/botocore, "
               "obstore, tifffile; 0.2.44, the last without torchvision, adds boto3/botocore/s3transfer/jmespath, "
               "tifffile, six and moves python-dateutil 4.0.0 -> 2.9.0 (botocore wants < 3)",
    "webdataset": "1.0.2 adds braceexpand only",
    "datasets": "5.2.0 adds pyarrow 26, pandas 3, huggingface_hub, hf-xet, httpx2, dill, multiprocess and numpy 2.4 "
                "(against the numpy<2 pin); with numpy<2 kept, pyarrow 26 fails at import (it needs NumPy 2) and "
                "pyarrow 24 has to be pinned by hand; resuming it needs torchdata as well",
}


# ------------------------------------------------------------------------------------------------ sources
def copy_episodes(store: EpisodeStore, episodes: int, root: Path) -> EpisodeStore:
    """A store holding the first ``episodes`` train episodes of ``store``."""
    copy = EpisodeStore.create(root, store.source, store.frame_size, num_actions=store.num_actions)
    for info in store.episodes("train")[:episodes]:
        copy.add_episode(info.name, np.asarray(store.frames(info.name)), store.actions(info.name))
    copy.mark_complete()
    return copy


def local_loader(store: EpisodeStore, workers: int) -> DataLoader:
    clips = PixelClips(store.root, "train", CLIP_LEN)
    return DataLoader(clips, batch_size=BATCH, shuffle=True, drop_last=True, num_workers=workers)


def clip_items(store: EpisodeStore):
    """Every clip as numpy items, in the random order the litdata export writes them in."""
    clips = PixelClips(store.root, "train", CLIP_LEN)
    for i in np.random.default_rng(0).permutation(len(clips)):
        yield {k: v.numpy() for k, v in clips[int(i)].items()}


def export_litdata(store: EpisodeStore, out: Path):
    from genie.data.shard_clips import ShardClips, stream_loader
    from genie.data.shards import export_shards

    export_shards(store, out, clip_len=CLIP_LEN)
    return lambda workers: stream_loader(ShardClips(out, CLIP_LEN, store.frame_size), BATCH, workers)


def to_tensors(frames: np.ndarray, actions: np.ndarray, episode: int, start: int) -> dict[str, torch.Tensor]:
    return {"frames": torch.from_numpy(frames), "actions": torch.from_numpy(actions),
            "episode": torch.tensor(episode), "start": torch.tensor(start)}


def export_webdataset(store: EpisodeStore, out: Path):
    import webdataset as wds

    out.mkdir(parents=True)
    with wds.ShardWriter(str(out / "shard-%05d.tar"), maxsize=64e6, verbose=0) as writer:
        for item in clip_items(store):
            writer.write({"__key__": f"{item['episode']:06d}_{item['start']:06d}", "frames.npy": item["frames"],
                          "actions.npy": item["actions"],
                          "meta.json": {"episode": int(item["episode"]), "start": int(item["start"])}})
    urls = sorted(str(p) for p in out.glob("*.tar"))

    def sample(x):
        return to_tensors(x["frames.npy"], x["actions.npy"], x["meta.json"]["episode"], x["meta.json"]["start"])

    def loader(workers: int) -> DataLoader:
        stream = wds.WebDataset(urls, shardshuffle=len(urls), nodesplitter=wds.split_by_node)
        return DataLoader(stream.shuffle(1000).decode().map(sample), batch_size=BATCH, num_workers=workers)
    return loader


def export_datasets(store: EpisodeStore, out: Path):
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq
    from datasets.distributed import split_dataset_by_node
    from torchdata.stateful_dataloader import StatefulDataLoader

    out.mkdir(parents=True)
    rows, files = [], []

    def flush():
        files.append(str(out / f"shard-{len(files):05d}.parquet"))
        pq.write_table(pa.Table.from_pylist(rows), files[-1])
        rows.clear()

    for item in clip_items(store):
        rows.append({"frames": item["frames"].tobytes(), "actions": item["actions"].tobytes(),
                     "episode": int(item["episode"]), "start": int(item["start"])})
        if len(rows) == 1000:
            flush()
    if rows:
        flush()
    size = store.frame_size

    def sample(x):
        frames = np.frombuffer(x["frames"], np.uint8).reshape(CLIP_LEN, size, size, 3).copy()
        return to_tensors(frames, np.frombuffer(x["actions"], np.int64).copy(), x["episode"], x["start"])

    def loader(workers: int) -> StatefulDataLoader:
        stream = datasets.load_dataset("parquet", data_files=files, split="train", streaming=True)
        stream = split_dataset_by_node(stream.shuffle(seed=0, buffer_size=1000), rank=0, world_size=1)
        return StatefulDataLoader(stream.map(sample), batch_size=BATCH, num_workers=workers)
    return loader


EXPORTS = {"litdata": export_litdata, "webdataset": export_webdataset, "datasets": export_datasets}


# ------------------------------------------------------------------------------------------------ measures
def clips_per_s(loader, batches: int) -> float:
    it = iter(loader)
    next(it)  # workers started, first chunk / shard opened
    start, clips = time.perf_counter(), 0
    for _, batch in zip(range(batches), it):
        clips += len(batch["frames"])
    return clips / (time.perf_counter() - start)


def footprint(distribution: str) -> dict:
    """The installed distributions ``distribution`` pulls in beyond mini-genie's own, with their size on disk."""
    def closure(name: str, seen: set[str]) -> set[str]:
        key = name.lower().replace("_", "-")
        if key in seen:
            return seen
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            return seen
        seen.add(key)
        for line in dist.requires or []:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                closure(req.name, seen)
        return seen

    added = sorted(closure(distribution, set()) - closure("mini-genie", set()))
    size = sum(f.locate().stat().st_size for name in added for f in md.distribution(name).files or []
               if f.locate().is_file())
    return {"version": md.version(distribution), "adds": added, "adds_mb": round(size / 1e6, 1)}


def directory_mb(path: Path) -> float:
    return round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", default="data/coinrun_hold8_skip1_easy_40000_s0", help="relative to the checkout")
    parser.add_argument("--episodes", type=int, default=30, help="first train episodes exported and read")
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--dir", default=None, help="where the shards go (default: the system's temp)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "streaming.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    work = Path(tempfile.mkdtemp(dir=args.dir, prefix="streaming_"))
    try:
        store = copy_episodes(EpisodeStore(ROOT / args.store), args.episodes, work / "store")
        loaders, engines = {"local": lambda workers: local_loader(store, workers)}, {}
        for engine, export in EXPORTS.items():  # each engine's distribution is named as the engine
            engines[engine] = {"pip_resolves": RESOLVED[engine]}
            try:
                engines[engine]["installed"] = footprint(engine)
            except md.PackageNotFoundError:
                engines[engine]["installed"] = None
                continue
            start = time.perf_counter()
            loaders[engine] = export(store, work / engine)
            engines[engine]["export_s"] = round(time.perf_counter() - start, 1)
            engines[engine]["shards_mb"] = directory_mb(work / engine)
            print(f"{engine}: exported in {engines[engine]['export_s']} s", flush=True)
        clips, store_mb = len(PixelClips(store.root, "train", CLIP_LEN)), directory_mb(store.root)

        runs: dict[str, dict[int, list[float]]] = {name: {w: [] for w in WORKERS} for name in loaders}
        for _ in range(args.repeats):
            for workers in WORKERS:
                for name, make in loaders.items():
                    runs[name][workers].append(clips_per_s(make(workers), args.batches))
                    print(f"{name} workers={workers}: {runs[name][workers][-1]:.0f} clips/s", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    median = {name: {w: statistics.median(r) for w, r in by_workers.items()} for name, by_workers in runs.items()}
    result = {
        "machine": machine(),
        "date": time.strftime("%Y-%m-%d"),
        "store": args.store, "episodes": args.episodes, "clips": clips, "store_mb": store_mb,
        "clip_len": CLIP_LEN, "batch_size": BATCH, "batches": args.batches, "repeats": args.repeats,
        "clips_per_s": {name: {f"workers_{w}": round(v) for w, v in m.items()} for name, m in median.items()},
        "ratio_to_local": {name: {f"workers_{w}": round(v / median["local"][w], 2) for w, v in m.items()}
                           for name, m in median.items() if name != "local"},
        "per_repeat": {name: {f"workers_{w}": [round(v) for v in r] for w, r in m.items()} for name, m in runs.items()},
        "engines": engines,
    }
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result["ratio_to_local"], indent=1))


if __name__ == "__main__":
    main()
