"""CoinRun generation writes a valid, level-split store with aligned true actions."""

import numpy as np
import pytest

pytest.importorskip("procgen", reason="procgen-mirror wheels exist only for CPython 3.11/3.12 on Linux x86-64")

from genie.data.coinrun import LEVEL_OFFSETS, generate_coinrun  # noqa: E402
from genie.data.store import EpisodeStore  # noqa: E402


def test_coinrun_generation_writes_a_valid_level_split_store(tmp_path):
    levels = {"train": 5, "val": 2, "test": 2}
    generate_coinrun(str(tmp_path), 64, {"train": 60, "val": 20, "test": 20}, levels, max_episode_len=16,
                     num_envs=2, seed=0)
    store = EpisodeStore(tmp_path)
    assert store.complete and store.source == "coinrun" and store.num_actions == 15
    for split in ("train", "val", "test"):
        episodes = store.episodes(split)
        assert sum(e.length for e in episodes) >= {"train": 60, "val": 20, "test": 20}[split]
        for e in episodes:
            seed = e.meta["level_seed"]
            assert LEVEL_OFFSETS[split] <= seed < LEVEL_OFFSETS[split] + levels[split]
            frames, actions = store.frames(e.name), store.actions(e.name)
            assert frames.shape[1:] == (64, 64, 3) and frames.dtype == np.uint8
            assert len(actions) == len(frames) - 1 and 0 <= actions.min() and actions.max() < 15
    # re-running with the same budget reuses the store: nothing is appended
    before = len(store)
    generate_coinrun(str(tmp_path), 64, {"train": 60, "val": 20, "test": 20}, levels, max_episode_len=16,
                     num_envs=2, seed=0)
    assert len(EpisodeStore(tmp_path)) == before
