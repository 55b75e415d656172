"""benchmarks/procgen_recordings.py: a procgen game recorded as videos a hobbyist brings, with its keys saved beside."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("procgen")

from benchmarks.procgen_recordings import record_level  # noqa: E402
from genie.data.video_import import import_video_folder  # noqa: E402
from genie.eval.key_response import KEY_BUTTONS  # noqa: E402


def test_a_recorded_level_imports_as_one_episode_whose_frames_match_the_saved_keys(tmp_path):
    folder = tmp_path / "ninja"
    folder.mkdir()
    info = record_level(folder / "ninja_7.mp4", "ninja", level=7, max_frames=40, rng=np.random.default_rng(0))
    actions = np.load(folder / "ninja_7.actions.npy")
    assert len(actions) == info["frames"] - 1 and info["frames"] <= 40
    assert set(actions.tolist()) <= set(KEY_BUTTONS)
    starts = np.flatnonzero(np.diff(actions)) + 1  # each key is held 4-12 frames (the last one may be cut short)
    assert (np.diff(starts) >= 4).all() and (np.diff(starts) <= 12).all()
    assert json.loads((folder / "ninja_7.json").read_text())["height"] == 512
    assert not list(folder.glob(".*partial*"))

    store, _ = import_video_folder(folder, tmp_path / "store", 64, split_by="time", split_gap=0,
                                   split={"train": 1.0, "val": 0.0, "test": 0.0}, min_frames=8)
    (episode,) = store.episodes("train")
    assert episode.meta["file"] == "ninja_7.mp4" and episode.length == info["frames"]
