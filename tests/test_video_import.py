"""Video folders become episode stores: every container and file name, fitting, fps, resumable incremental import,
and a clear error (or a counted, logged skip) for every kind of bad input."""

import json
import logging
import os
import wave

import av
import numpy as np
import pytest
from videos import moving_square, truncate, write_video

from genie.data.store import EpisodeStore
from genie.data.video import VideoError, VideoReader, encode_video
from genie.data.video_import import (
    assign_splits,
    choose_split_rule,
    import_video_folder,
    segment_bounds,
    time_blocks,
)
from genie.errors import UserError

SIZE = 24


def read(path, **kwargs) -> np.ndarray:
    return np.stack(list(VideoReader(path, SIZE, **kwargs)))


def import_folder(folder, root, **kwargs):
    """Split by file unless told: these folders hold a handful of unrelated clips."""
    return import_video_folder(folder, root, SIZE, min_frames=4, **{"split_by": "file", **kwargs})


@pytest.fixture
def folder(tmp_path):
    """Five good videos: every container, spaces, non-ASCII, upper-case extensions, a sub-folder; plus a text file."""
    videos = tmp_path / "videos"
    for seed, name in enumerate(["clip one.mp4", "sub/ünïcødé vidéo.WEBM", "c.avi", "d.gif", "E.MKV"]):
        write_video(videos / name, frames=12, seed=seed)
    (videos / "notes.txt").write_text("not a video, not an error: ignored")
    return videos


def manifest_bytes(root):
    return (root / "manifest.json").read_bytes()


# ------------------------------------------------------------------ decoding one file
@pytest.mark.parametrize("suffix", [".mp4", ".webm", ".mkv", ".avi", ".gif"])
def test_every_container_decodes_to_rgb_frames_of_the_model_size(tmp_path, suffix):
    path = write_video(tmp_path / f"v{suffix}", frames=10, width=48, height=48)
    frames = read(path)
    assert frames.dtype == np.uint8 and frames.shape == (10, SIZE, SIZE, 3)
    expected = moving_square(10, 48, 48)[:, ::2, ::2].astype(float)  # 48 -> 24 by area averaging
    assert np.abs(frames - expected).mean() < 12  # lossy codecs, same picture


def test_crop_fills_the_square_and_letterbox_adds_black_bars(tmp_path):
    path = write_video(tmp_path / "wide.mp4", width=96, height=48, frames=4)
    cropped, boxed = read(path, fit="crop"), read(path, fit="letterbox")
    assert cropped.shape == boxed.shape == (4, SIZE, SIZE, 3)
    assert cropped[:, [0, -1]].max() > 0  # background colour to the edges
    assert boxed[:, :6].max() == 0 and boxed[:, -6:].max() == 0  # 96x48 -> 24x12 in the middle rows
    assert boxed[:, 6:18].max(axis=-1).min() > 0  # no black pixel in the picture


def test_a_phone_video_with_display_rotation_is_turned_upright(tmp_path):
    landscape = moving_square(4, 64, 40)
    plain = read(encode_video(tmp_path / "plain.mp4", landscape), fit="letterbox")
    with av.open(str(tmp_path / "portrait.mp4"), "w") as container:  # stored landscape, shown portrait
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 40, "yuv420p"
        stream.set_display_rotation(90)
        for image in landscape:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    portrait = read(tmp_path / "portrait.mp4", fit="letterbox")
    assert np.array_equal(portrait, np.rot90(plain, 1, axes=(1, 2)))
    assert portrait[:, :, :4].max() == 0 and portrait[:, :, -4:].max() == 0  # bars left and right


def test_greyscale_video_is_expanded_to_rgb(tmp_path):
    frames = read(write_video(tmp_path / "grey.mkv", codec="ffv1", pix_fmt="gray", frames=5))
    assert frames.shape == (5, SIZE, SIZE, 3)
    assert np.array_equal(frames[..., 0], frames[..., 1]) and np.array_equal(frames[..., 1], frames[..., 2])
    assert frames.max() > 150  # the bright square survived


def test_fps_subsampling_keeps_at_most_the_target_rate(tmp_path):
    path = write_video(tmp_path / "ten_fps.mp4", frames=30, fps=10)
    reader = VideoReader(path, SIZE, fps=5)
    frames = np.stack(list(reader))
    assert (reader.decoded, reader.kept, len(frames)) == (30, 15, 15)
    assert np.array_equal(frames[1], read(path)[2])  # every other frame
    assert len(read(path, fps=25)) == 30  # never invents frames


# ------------------------------------------------------------------ importing a folder
def test_every_video_in_the_folder_becomes_an_episode_without_actions(folder, tmp_path):
    store, counts = import_folder(folder, tmp_path / "store")
    assert (counts.files, counts.imported, counts.skipped) == (5, 5, {})
    assert store.complete and store.source == "video_folder" and store.num_actions is None
    files = {e.meta["file"] for e in store.episodes()}
    assert files == {"clip one.mp4", "sub/ünïcødé vidéo.WEBM", "c.avi", "d.gif", "E.MKV"}
    for info in store.episodes():
        frames = store.frames(info.name)
        assert frames.dtype == np.uint8 and frames.shape == (12, SIZE, SIZE, 3) and store.actions(info.name) is None
    assert [len(store.episodes(split)) for split in ("train", "val", "test")] == [3, 1, 1]


def test_splits_are_by_file_deterministic_and_proportional():
    rels = [f"clip_{i}.mp4" for i in range(200)]
    splits = assign_splits(rels, {"train": 0.8, "val": 0.1, "test": 0.1})
    assert splits == assign_splits(list(reversed(rels)), {"train": 0.8, "val": 0.1, "test": 0.1})
    assert sorted(splits.values()).count("val") == 20 and sorted(splits.values()).count("test") == 20
    few = assign_splits(rels[:3], {"train": 0.9, "val": 0.05, "test": 0.05})
    assert sorted(few.values()) == ["test", "train", "val"]  # every split gets a file
    with pytest.raises(UserError, match="data.split"):
        assign_splits(rels, {"train": 0.8, "holdout": 0.2})


def test_long_video_is_cut_into_episodes_that_share_their_boundary_frames(tmp_path):
    write_video(tmp_path / "videos" / "long.mp4", frames=30)
    for i in range(2):
        write_video(tmp_path / "videos" / f"short_{i}.mp4", frames=8, seed=i + 1)
    store, _ = import_folder(tmp_path / "videos", tmp_path / "store", max_episode_len=12)
    parts = sorted((e for e in store.episodes() if e.meta["file"] == "long.mp4"), key=lambda e: e.meta["segment"])
    assert [e.length for e in parts] == [11, 10, 11] and len({e.split for e in parts}) == 1
    joined = np.concatenate([store.frames(parts[0].name)] + [store.frames(e.name)[1:] for e in parts[1:]])
    assert np.array_equal(joined, read(tmp_path / "videos" / "long.mp4"))
    assert segment_bounds(5, 12) == [(0, 5)]


def test_reimport_reuses_unchanged_files_and_follows_added_changed_and_removed_ones(folder, tmp_path):
    root = tmp_path / "store"
    import_folder(folder, root)
    before = manifest_bytes(root)
    store, counts = import_folder(folder, root)
    assert (counts.imported, counts.reused) == (0, 5) and manifest_bytes(root) == before  # nothing written

    write_video(folder / "new.mp4", frames=9, seed=9)
    (folder / "c.avi").unlink()
    write_video(folder / "d.gif", frames=6, seed=7)  # same name, new content
    os.utime(folder / "d.gif", ns=(1, 1))
    store, counts = import_folder(folder, root)
    assert counts.removed == 1 and counts.imported >= 2
    lengths = {e.meta["file"]: e.length for e in store.episodes()}
    assert "c.avi" not in lengths and lengths["new.mp4"] == 9 and lengths["d.gif"] == 6 and len(lengths) == 5
    assert sorted(p.name for p in (root / "episodes").iterdir()) == sorted(f"{e.name}.frames.npy"
                                                                           for e in store.episodes())


def test_interrupted_import_resumes_and_never_lists_a_half_file(folder, tmp_path, monkeypatch):
    import genie.data.video_import as video_import

    real, calls = video_import.import_file, []

    def crash_on_third_file(store, source, *args):
        calls.append(source.rel)
        if len(calls) == 3:
            (store.root / ".import-half.tmp").write_bytes(b"half a file")
            raise KeyboardInterrupt
        return real(store, source, *args)

    monkeypatch.setattr(video_import, "import_file", crash_on_third_file)
    with pytest.raises(KeyboardInterrupt):
        import_folder(folder, tmp_path / "store")
    partial = EpisodeStore(tmp_path / "store")
    assert not partial.complete and len(partial) == 2
    monkeypatch.setattr(video_import, "import_file", real)

    resumed, counts = import_folder(folder, tmp_path / "store")
    fresh, _ = import_folder(folder, tmp_path / "fresh")
    assert resumed.complete and (counts.reused, counts.imported) == (2, 3)
    assert not list((tmp_path / "store").glob(".import-*"))
    by_file = {e.meta["file"]: e for e in fresh.episodes()}
    for info in resumed.episodes():
        twin = by_file[info.meta["file"]]
        assert info.split == twin.split and np.array_equal(resumed.frames(info.name), fresh.frames(twin.name))


# ------------------------------------------------------------------ bad input
def make_bad(kind, folder):
    """One bad file of ``kind`` in ``folder``; returns its name and a phrase of the expected message."""
    if kind == "empty":
        (folder / "empty.mp4").write_bytes(b"")
        return "empty.mp4", "empty file"
    if kind == "not a video":
        (folder / "notes.mp4").write_text("these are my notes, not a video\n" * 20)
        return "notes.mp4", "cannot be opened as a video"
    if kind == "truncated mp4":
        truncate(write_video(folder.parent / "whole.mp4", frames=40), folder / "cut.mp4")
        return "cut.mp4", "truncated"
    if kind == "truncated webm":
        truncate(write_video(folder.parent / "whole.webm", frames=40), folder / "cut.webm")
        return "cut.webm", "damaged"
    if kind == "truncated avi":
        truncate(write_video(folder.parent / "whole.avi", frames=40), folder / "cut.avi", keep=0.7)
        return "cut.avi", "damaged"
    if kind == "one frame":
        write_video(folder / "still.mp4", frames=1)
        return "still.mp4", "1 frame; an episode needs at least 4"
    if kind == "too small":
        write_video(folder / "thumb.gif", width=16, height=16)
        return "thumb.gif", "16x16 pixels is smaller than the frame size 24"
    raise ValueError(kind)


BAD_KINDS = ["empty", "not a video", "truncated mp4", "truncated webm", "truncated avi", "one frame", "too small"]


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_a_bad_file_stops_the_import_with_its_name_and_problem(folder, tmp_path, kind):
    name, problem = make_bad(kind, folder)
    with pytest.raises(VideoError) as error:
        import_folder(folder, tmp_path / "store")
    message = str(error.value)
    assert str(folder / name) in message and problem in message and "\n" not in message
    assert "data.on_bad_file=skip" in message


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_with_on_bad_file_skip_a_bad_file_is_counted_logged_and_recorded(folder, tmp_path, kind, caplog):
    name, problem = make_bad(kind, folder)
    with caplog.at_level(logging.WARNING, logger="genie.data.video_import"):
        store, counts = import_folder(folder, tmp_path / "store", on_bad_file="skip")
    assert list(counts.skipped) == [name] and problem in counts.skipped[name]["reason"]
    assert any(name in r.getMessage() and problem in r.getMessage() for r in caplog.records)
    assert len(store) == 5 and name not in {e.meta["file"] for e in store.episodes()}
    recorded = json.loads(manifest_bytes(tmp_path / "store"))["extra"]["skipped"]
    assert recorded[name]["reason"] == counts.skipped[name]["reason"]
    # known bad and unchanged: skipped again without decoding, and still reported in error mode
    _, again = import_folder(folder, tmp_path / "store", on_bad_file="skip")
    assert list(again.skipped) == [name] and again.imported == 0
    with pytest.raises(VideoError, match=problem):
        import_folder(folder, tmp_path / "store")


def test_garbage_after_a_truncation_never_reaches_the_store(tmp_path):
    """A truncated file can decode 'successfully' into fewer frames: the counts and FFmpeg's errors give it away."""
    whole = write_video(tmp_path / "whole.mkv", frames=40)
    for keep in (0.5, 0.9):
        with pytest.raises(VideoError, match="damaged|truncated"):
            read(truncate(whole, tmp_path / f"cut_{keep}.mkv", keep))


def test_a_folder_without_videos_is_an_error_naming_it(tmp_path):
    (tmp_path / "empty_dir").mkdir()
    (tmp_path / "empty_dir" / "readme.txt").write_text("no videos here")
    with pytest.raises(VideoError, match=r"empty_dir: no video files"):
        import_folder(tmp_path / "empty_dir", tmp_path / "store")
    with pytest.raises(UserError, match="no such folder"):
        import_folder(tmp_path / "missing", tmp_path / "store")
    with pytest.raises(UserError, match="data.path: set it"):
        import_folder(None, tmp_path / "store")


def test_a_folder_of_only_bad_files_is_an_error_even_when_skipping(tmp_path):
    (tmp_path / "videos").mkdir()
    (tmp_path / "videos" / "a.mp4").write_bytes(b"")
    with pytest.raises(VideoError, match="none of the 1 video files could be imported"):
        import_folder(tmp_path / "videos", tmp_path / "store", on_bad_file="skip")


def test_too_few_usable_files_for_every_split_is_an_error(tmp_path):
    for i in range(2):
        write_video(tmp_path / "videos" / f"{i}.mp4", seed=i)
    with pytest.raises(VideoError, match="no video in the '(val|test)' split"):
        import_folder(tmp_path / "videos", tmp_path / "store")
    store, _ = import_folder(tmp_path / "videos", tmp_path / "store2", split={"train": 1.0})
    assert len(store.episodes("train")) == 2


def test_a_file_with_sound_only_has_no_video_stream(tmp_path):
    path = tmp_path / "sound only.mkv"  # FFmpeg probes the content: a WAV file, whatever its name
    with wave.open(str(path), "wb") as sound:
        sound.setnchannels(1), sound.setsampwidth(2), sound.setframerate(8000)
        sound.writeframes(np.zeros(800, np.int16).tobytes())
    with pytest.raises(VideoError, match=r"sound only.mkv: has no video stream"):
        read(path)


# ------------------------------------------------------------------ splits that fit the folder
def test_one_recording_is_split_by_time_with_gaps_and_its_end_held_out(tmp_path):
    path = write_video(tmp_path / "videos" / "my game.mp4", frames=300)
    store, _ = import_video_folder(tmp_path / "videos", tmp_path / "store", SIZE)  # the defaults: auto, gap 32
    extra = store.manifest["extra"]
    assert extra["split_by"] == "time" and "1 usable file" in extra["split_reason"]
    blocks = {s: [(e.meta["first_frame"], e.meta["first_frame"] + e.length) for e in store.episodes(s)]
              for s in ("train", "val", "test")}
    assert blocks == {"train": [(0, 212)], "val": [(244, 256)], "test": [(288, 300)]}  # 5 % of 236 usable frames
    (train_start, train_stop), (val_start, val_stop), (test_start, test_stop) = (blocks[s][0] for s in blocks)
    assert train_start == 0 and test_stop == 300 and val_start - train_stop >= 32 and test_start - val_stop >= 32
    assert val_stop - val_start >= 8 and test_stop - test_start >= 8  # data.min_frames each
    whole = read(path)
    for info in store.episodes():
        start = info.meta["first_frame"]
        assert np.array_equal(store.frames(info.name), whole[start : start + info.length])


def test_time_split_follows_the_shares_and_cuts_long_blocks_into_episodes():
    assert time_blocks(1064, {"train": 0.8, "val": 0.1, "test": 0.1}, 32, 8) == [
        ("train", 0, 800), ("val", 832, 932), ("test", 964, 1064)]
    assert time_blocks(60, {"train": 0.9, "val": 0.05, "test": 0.05}, 32, 8) == [("train", 0, 60)]  # too short
    assert time_blocks(100, {"train": 0.9, "val": 0.1}, 10, 4) == [("train", 0, 81), ("val", 91, 100)]


def test_auto_splits_by_file_only_with_several_files_per_held_out_split():
    shares = {"train": 0.9, "val": 0.05, "test": 0.05}
    assert choose_split_rule(1, shares, "auto")[0] == "time"
    assert choose_split_rule(4, shares, "auto")[0] == "time"  # 2 / 1 / 1: two held-out videos stand for nothing
    assert choose_split_rule(60, shares, "auto")[0] == "file"
    assert choose_split_rule(4, shares, "file")[0] == "file" and choose_split_rule(60, shares, "time")[0] == "time"
    with pytest.raises(UserError, match="data.split_by='frames'"):
        choose_split_rule(4, shares, "frames")


def test_a_mixed_folder_split_by_time_puts_every_video_in_every_split(tmp_path):
    for seed in range(4):
        write_video(tmp_path / "videos" / f"game_{seed}.mp4", frames=120, seed=seed)
    store, _ = import_video_folder(tmp_path / "videos", tmp_path / "store", SIZE, split_gap=8)
    for split in ("train", "val", "test"):
        assert {e.meta["file"] for e in store.episodes(split)} == {f"game_{i}.mp4" for i in range(4)}


def test_split_by_file_names_held_out_videos_unlike_every_training_video(tmp_path, caplog):
    videos = tmp_path / "videos"
    for i in range(6):  # one game: dark background, the same bright square
        encode_video(videos / f"same_game_{i}.mp4", moving_square(12, 48, 40, seed=0), 10, "libx264", "yuv420p")
    other = np.full((12, 40, 48, 3), (30, 200, 40), np.uint8)  # another game: all green
    encode_video(videos / "other_game.mp4", other, 10, "libx264", "yuv420p")
    shares = {"train": 0.5, "val": 0.25, "test": 0.25}
    with caplog.at_level(logging.WARNING, logger="genie.data.video_import"):
        store, _ = import_folder(videos, tmp_path / "store", split=shares)
    far = store.manifest["extra"]["unlike_training"]
    held_out = {e.meta["file"] for s in ("val", "test") for e in store.episodes(s)}
    assert set(far) == held_out & {"other_game.mp4"}
    if "other_game.mp4" in held_out:
        assert "other_game.mp4" in caplog.text and "looks unlike every training video" in caplog.text
    assert all(0 <= d <= 1 for d in far.values())


def test_changing_the_split_rule_reimports_and_nothing_is_lost(tmp_path):
    write_video(tmp_path / "videos" / "long.mp4", frames=120)
    root = tmp_path / "store"
    by_time, _ = import_video_folder(tmp_path / "videos", root, SIZE, split_gap=8)
    assert by_time.manifest["extra"]["split_by"] == "time" and len(by_time.episodes("val")) == 1
    by_file, counts = import_video_folder(tmp_path / "videos", root, SIZE, split_by="file",
                                          split={"train": 1.0})
    assert counts.imported == 1 and [e.length for e in by_file.episodes()] == [120]
    again, counts = import_video_folder(tmp_path / "videos", root, SIZE, split_by="file", split={"train": 1.0})
    assert (counts.imported, counts.reused) == (0, 1)
