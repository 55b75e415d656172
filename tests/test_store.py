"""Episode store: round trips, memory-mapped reads, atomic/resumable writes, clear errors on bad episodes."""

import json

import numpy as np
import pytest

from genie.data.store import EpisodeStore, StoreError
from genie.data.synthetic import generate_synthetic


def frames(T=5, size=16, value=0):
    return np.full((T, size, size, 3), value, np.uint8)


def test_round_trip_reads_memory_mapped_frames_and_actions(tmp_path):
    store = EpisodeStore.create(tmp_path, "unit", frame_size=16, num_actions=3)
    store.add_episode("a", frames(value=7), np.array([0, 1, 2, 1]), split="val", meta={"level_seed": 3})
    again = EpisodeStore(tmp_path)
    read = again.frames("a")
    assert isinstance(read, np.memmap) and read.shape == (5, 16, 16, 3) and int(read[2, 0, 0, 0]) == 7
    assert again.actions("a").tolist() == [0, 1, 2, 1]
    assert again.episodes("val")[0].meta == {"level_seed": 3}


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((5, 16, 16, 3), np.float32), "uint8"),
        (np.zeros((5, 8, 8, 3), np.uint8), "uint8 \\[T, 16, 16, 3\\]"),
        (np.zeros((1, 16, 16, 3), np.uint8), "at least 2 frames"),
    ],
)
def test_bad_frames_are_refused_with_the_episode_name(tmp_path, bad, message):
    store = EpisodeStore.create(tmp_path, "unit", frame_size=16)
    with pytest.raises(StoreError, match=message):
        store.add_episode("broken_ep", bad)
    assert len(EpisodeStore(tmp_path)) == 0


def test_actions_must_have_one_entry_per_transition(tmp_path):
    store = EpisodeStore.create(tmp_path, "unit", frame_size=16)
    with pytest.raises(StoreError, match="actions must be int \\[T-1\\]"):
        store.add_episode("ep", frames(T=5), np.zeros(5, np.int64))


def test_corrupt_episode_file_names_the_file(tmp_path):
    store = EpisodeStore.create(tmp_path, "unit", frame_size=16)
    store.add_episode("ep", frames())
    (tmp_path / "episodes" / "ep.frames.npy").write_bytes(b"not numpy")
    with pytest.raises(StoreError, match="ep.frames.npy"):
        EpisodeStore(tmp_path).frames("ep")


def test_missing_manifest_key_is_reported(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"format_version": 1, "source": "x"}))
    with pytest.raises(StoreError, match="missing key 'frame_size'"):
        EpisodeStore(tmp_path)


def test_interrupted_generation_resumes_without_duplicates(tmp_path):
    full = generate_synthetic(str(tmp_path / "full"), 16, {"train": 4, "val": 1}, 6, seed=1)
    partial_root = tmp_path / "partial"
    generate_synthetic(str(partial_root), 16, {"train": 2}, 6, seed=1)
    # a crash mid-episode leaves only temp files, which are never listed
    (partial_root / "episodes" / ".train_00002.frames.npy.123.tmp").write_bytes(b"half")
    resumed = generate_synthetic(str(partial_root), 16, {"train": 4, "val": 1}, 6, seed=1)
    assert [e.name for e in resumed.episodes()] == [e.name for e in full.episodes()]
    assert all(np.array_equal(resumed.frames(e.name), full.frames(e.name)) for e in full.episodes())


def test_clip_reads_are_positioned_reads_that_follow_rewrites_and_removals(tmp_path):
    store = EpisodeStore.create(tmp_path, "unit", frame_size=16)
    video = np.random.default_rng(0).integers(0, 256, (6, 16, 16, 3), dtype=np.uint8)
    store.add_episode("ep", video)
    assert np.array_equal(store.read_frames("ep", 2, 5), video[2:5]) and store.read_frames("ep", 4, 9).shape[0] == 2
    store.add_episode("ep", video[::-1].copy())  # rewritten in place: no stale bytes from an open descriptor
    assert np.array_equal(store.read_frames("ep", 0, 2), video[::-1][:2])
    store.remove_episode("ep")
    assert len(EpisodeStore(tmp_path)) == 0 and not list((tmp_path / "episodes").glob("ep.*"))


@pytest.mark.parametrize(
    "array, message",
    [(np.zeros((5, 16, 16, 3), np.float32), "float32"), (np.zeros((5, 16, 16), np.uint8), r"\[5, 16, 16\]")],
)
def test_an_episode_file_of_the_wrong_dtype_or_shape_names_the_file(tmp_path, array, message):
    store = EpisodeStore.create(tmp_path, "unit", frame_size=16)
    store.add_episode("ep", frames())
    np.save(tmp_path / "episodes" / "ep.frames.npy", array)
    with pytest.raises(StoreError, match=rf"ep.frames.npy: frames must be uint8 .*{message}"):
        EpisodeStore(tmp_path).frames("ep")


def test_an_episode_entry_missing_a_key_is_reported(tmp_path):
    store = EpisodeStore.create(tmp_path, "unit", frame_size=16)
    store.add_episode("ep", frames())
    store.mark_complete()  # the episode moves from the journal into the manifest
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    del manifest["episodes"][0]["length"]
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(StoreError, match="manifest.json: malformed episode entry .*length"):
        EpisodeStore(tmp_path)
