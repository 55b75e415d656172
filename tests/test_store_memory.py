"""A store several times larger than the memory a process may use trains with bounded resident memory.

The reader runs in a fresh subprocess that iterates a shuffled DataLoader over every frame of a ~380 MB store and
reports its peak resident set size (``ru_maxrss``, which counts touched pages of memory maps too). Its growth while
reading must stay under MEMORY_BUDGET, a sixth of the store: clips are read with positioned reads, so nothing of the
store stays resident (reading through the memory maps instead grows the RSS by about the store's size).
"""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from genie.data.store import EpisodeStore

MEMORY_BUDGET = 64 * 2**20  # bytes of resident growth allowed while reading the whole store
FRAME_SIZE, EPISODES, EPISODE_LEN, CLIP_LEN = 128, 32, 250, 5  # 32 x 250 x 48 KiB = 375 MiB

READER = textwrap.dedent("""
    import json, resource, sys
    import torch
    from torch.utils.data import DataLoader
    from genie.data.clips import PixelClips

    def peak_bytes():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB

    clips = PixelClips(sys.argv[1], "train", clip_len=int(sys.argv[2]), stride=int(sys.argv[2]))
    loader = DataLoader(clips, batch_size=32, shuffle=True, num_workers=0)
    batches = iter(loader)
    first = next(batches)  # allocator, collate and DataLoader machinery warmed up
    baseline, read = peak_bytes(), first["frames"].numel()
    for batch in batches:
        read += batch["frames"].numel()
    print(json.dumps({"baseline": baseline, "peak": peak_bytes(), "bytes_read": read}))
""")


@pytest.fixture(scope="module")
def large_store(tmp_path_factory):
    root = tmp_path_factory.mktemp("large_store")
    store = EpisodeStore.create(root, "unit", frame_size=FRAME_SIZE)
    frames = np.empty((EPISODE_LEN, FRAME_SIZE, FRAME_SIZE, 3), np.uint8)
    for e in range(EPISODES):
        frames[:] = e  # real bytes on disk (no sparse files), cheap to make
        store.add_episode(f"ep{e:03d}", frames)
    return root


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss units and accounting as on Linux")
def test_reading_a_store_six_times_the_budget_keeps_resident_memory_bounded(large_store):
    store_bytes = sum(p.stat().st_size for p in (large_store / "episodes").glob("*.npy"))
    assert store_bytes > 5 * MEMORY_BUDGET
    result = subprocess.run([sys.executable, "-c", READER, str(large_store), str(CLIP_LEN)], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["bytes_read"] >= 0.95 * store_bytes  # every frame went through the loader
    growth = report["peak"] - report["baseline"]
    assert growth < MEMORY_BUDGET, f"RSS grew by {growth / 2**20:.0f} MiB reading {store_bytes / 2**20:.0f} MiB"
