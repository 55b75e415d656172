"""Play mode without a server: sessions, the step loop, start frames and uploads, recordings, settings, terminal."""

from __future__ import annotations

import asyncio
import io
from concurrent.futures import ThreadPoolExecutor

import av
import imageio.v3 as iio
import numpy as np
import pytest
import torch
from PIL import Image

from genie.errors import UserError
from genie.nn.pixels import to_uint8
from genie.play.loop import StepLoop
from genie.play.rate import Rate
from genie.play.recording import encode
from genie.play.session import START, PlaySession
from genie.play.settings import PlaySettings
from genie.play.starts import UploadTooLarge, any_start, episode_context, random_context, read_upload
from genie.play.terminal import parse_keys, render, run_terminal
from play_worlds import scripted_world

MB = 2**20


def start_frames(store, world, split="test"):
    episode = store.episodes(split)[0]
    return episode_context(store, split, episode.name, episode.length - 1, world.window)


# ------------------------------------------------------------------ sessions
def test_a_session_dreams_frames_under_the_held_action_and_the_default_one_when_released(world, store):
    session = PlaySession(world, default_action=0)
    start = session.reset(start_frames(store, world))
    assert start.shape == (world.frame_size, world.frame_size, 3) and start.dtype == np.uint8
    session.hold(world.num_actions - 1)
    held = [session.step() for _ in range(3)]
    session.hold(None)
    released = session.step()
    assert [s.action for s in held] == [world.num_actions - 1] * 3 and released.action == 0
    assert [s.index for s in held + [released]] == [1, 2, 3, 4]
    assert list(session.actions) == [world.num_actions - 1] * 3 + [0]
    assert [a for _, a in session.recording] == [START] + list(session.actions)
    assert session.tokens_Thw.shape[0] == world.window
    assert session.model_rate.per_second > 0


def test_a_session_steps_like_the_world_models_own_rollout(world, store):
    context = start_frames(store, world)
    session = PlaySession(world)
    session.reset(context)
    actions = [a % world.num_actions for a in (1, 0, 2, 1, 3)]
    for a in actions:
        session.hold(a)
        session.step()
    tokens = world.rollout(world.encode(torch.from_numpy(context)[None]), torch.tensor([actions]))
    expected = to_uint8(world.decode(tokens[:, -1:]))[0, 0].numpy()
    np.testing.assert_array_equal(session.frame, expected)


@pytest.mark.parametrize("bad", [-1, 99, 1.0, "1", True, [1]])
def test_a_session_refuses_unknown_actions_by_naming_the_range(world, bad):
    session = PlaySession(world)
    with pytest.raises(UserError, match=rf"0\.\.{world.num_actions - 1}"):
        session.hold(bad)
    assert session.held_action is None


def test_two_sessions_on_one_world_keep_separate_histories():
    world = scripted_world()
    a, b = PlaySession(world), PlaySession(world)
    frames = np.zeros((2, 32, 32, 3), np.uint8)
    a.reset(frames), b.reset(frames)
    a.hold(1), b.hold(3)
    for _ in range(3):
        a.step(), b.step()
    assert list(a.actions) == [1, 1, 1] and list(b.actions) == [3, 3, 3]
    changed_rows_a = np.nonzero((a.frame != b.frame).any(axis=(1, 2)))[0]
    assert set(changed_rows_a) == set(range(8, 16)) | set(range(24, 32))  # band 1 of a, band 3 of b


def test_previews_show_each_action_from_the_current_frame_and_leave_the_session_alone():
    world = scripted_world()
    session = PlaySession(world)
    session.reset(np.zeros((1, 32, 32, 3), np.uint8))
    before = (session.frame.copy(), session.tokens_Thw.clone(), session.steps)
    previews = session.previews(steps=3)
    assert previews.shape == (4, 4, 32, 32, 3)
    np.testing.assert_array_equal(previews[:, 0], np.broadcast_to(before[0], previews[:, 0].shape))
    for a in range(4):  # action a changes band a only
        changed = np.nonzero((previews[a, -1] != previews[a, 0]).any(axis=(1, 2)))[0]
        assert set(changed) == set(range(8 * a, 8 * a + 8))
    assert np.array_equal(session.frame, before[0]) and session.tokens_Thw.equal(before[1])
    assert session.steps == before[2]


def test_a_session_needs_a_start_frame_of_the_worlds_size(world):
    session = PlaySession(world)
    with pytest.raises(UserError, match="reset"):
        session.step()
    with pytest.raises(UserError, match="start frames must be uint8"):
        session.reset(np.zeros((1, 7, 7, 3), np.uint8))


# ------------------------------------------------------------------ step loop
class ListSink:
    def __init__(self):
        self.messages: list = []

    async def send_bytes(self, data: bytes) -> None:
        self.messages.append(data)

    async def send_json(self, data) -> None:
        self.messages.append(data)


class FakeClock:
    """Seconds that pass only when the loop sleeps (or a step says it took time): pacing without wall-clock time."""

    def __init__(self):
        self.now, self.sleeps = 0.0, []

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


def run_step_loop(session: PlaySession, clock: FakeClock, steps: int, fps: float = 50) -> ListSink:
    sink = ListSink()
    with ThreadPoolExecutor(1) as executor:
        loop = StepLoop(session, executor, fps=fps, sink=sink)
        loop.clock, loop.sleep = clock.time, clock.sleep
        loop.outbox.append({"type": "start", "source": "test"})
        asyncio.run(loop.run(steps=steps))
    return sink


def test_the_step_loop_sends_each_frame_as_rgb_bytes_then_its_stats_at_the_target_rate():
    session = PlaySession(scripted_world())
    session.reset(np.zeros((1, 32, 32, 3), np.uint8))
    session.hold(2)
    clock = FakeClock()
    sink = run_step_loop(session, clock, steps=20)
    assert sink.messages[0] == {"type": "start", "source": "test"}
    frames, stats = sink.messages[1::2], sink.messages[2::2]
    assert len(frames) == len(stats) == 20
    assert all(isinstance(f, bytes) and len(f) == 32 * 32 * 3 for f in frames)
    assert [s["step"] for s in stats] == list(range(1, 21)) and {s["action"] for s in stats} == {2}
    # paced, not flat out: a step that takes no time is followed by a whole period of sleep, 20 frames in 0.4 s
    assert clock.sleeps == pytest.approx([0.02] * 20) and clock.now == pytest.approx(0.4)
    assert stats[-1]["loop_frames_per_second"] == pytest.approx(50, abs=0.1)
    assert stats[-1]["model_steps_per_second"] > 0


def test_a_step_loop_slower_than_its_target_runs_flat_out_without_catching_up_in_a_burst():
    session = PlaySession(scripted_world())
    session.reset(np.zeros((1, 32, 32, 3), np.uint8))
    clock = FakeClock()
    step = session.step

    def slow_then_fast_step():  # the first 5 model steps take 50 ms against the 20 ms period of 50 frames/s
        clock.now += 0.05 if session.steps < 5 else 0.0
        return step()

    session.step = slow_then_fast_step
    stats = run_step_loop(session, clock, steps=10).messages[2::2]
    assert all(s <= 0 for s in clock.sleeps[:5])  # behind: no sleep
    assert clock.sleeps[5:] == pytest.approx([0.02] * 5)  # then back at the target rate, not a burst to catch up
    assert clock.now == pytest.approx(5 * 0.05 + 5 * 0.02) and stats[4]["loop_frames_per_second"] == pytest.approx(20)


def test_rates_average_the_latest_events():
    rate = Rate(window=4)
    assert rate.per_second == 0.0
    for now in (0.0, 0.1, 0.2, 0.3, 0.4, 0.45):
        rate.tick(now)
    assert rate.per_second == pytest.approx(4 / 0.35)  # the last 4 gaps only
    for seconds in (0.01, 0.03):
        rate.observe(seconds)
    assert rate.per_second == pytest.approx(4 / 0.19)


# ------------------------------------------------------------------ start frames and uploads
def test_start_frames_come_from_held_out_episodes_with_their_history(store, world):
    episode = store.episodes("test")[0]
    context = episode_context(store, "test", episode.name, 5, world.window)
    np.testing.assert_array_equal(context, store.frames(episode.name)[6 - world.window : 6])
    assert len(episode_context(store, "test", episode.name, 0, world.window)) == 1
    name, frame, context = random_context(store, "test", world.window, np.random.default_rng(0))
    assert name in [e.name for e in store.episodes("test")] and len(context) == min(frame + 1, world.window)
    with pytest.raises(UserError, match="no such 'test' episode"):
        episode_context(store, "test", "nope", 0, world.window)
    with pytest.raises(UserError, match="has frames 0.."):
        episode_context(store, "test", episode.name, episode.length, world.window)
    grey, source = any_start(None, "test", world.window, world.frame_size, np.random.default_rng(0))
    assert source == {"source": "blank"} and grey.shape == (1, world.frame_size, world.frame_size, 3)


def png_bytes(width=80, height=60, fmt="PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (height, width, 3), dtype=np.uint8)).save(buffer, fmt)
    return buffer.getvalue()


def mp4_bytes(frames: int = 5) -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 48, 32, "yuv420p"
        for i in range(frames):
            image = np.full((32, 48, 3), 40 * i, np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode(None))
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP", "BMP"])
def test_an_uploaded_image_becomes_a_square_start_frame(fmt):
    frame = read_upload(png_bytes(fmt=fmt), f"x.{fmt.lower()}", 32, 16 * MB)
    assert frame.shape == (1, 32, 32, 3) and frame.dtype == np.uint8


def test_an_uploaded_video_gives_the_chosen_frame():
    data = mp4_bytes()
    first, third = (read_upload(data, "clip.mp4", 32, 16 * MB, frame_index=i) for i in (0, 2))
    assert third.mean() > first.mean() + 40
    with pytest.raises(UserError, match="no frame 9"):
        read_upload(data, "clip.mp4", 32, 16 * MB, frame_index=9)


@pytest.mark.parametrize("name", ["../x.png", "a/b.png", "..\\x.png", "C:\\x.png", "..%2Fx.png", "..", ""])
def test_an_upload_whose_name_carries_a_path_is_refused(name):
    with pytest.raises(UserError, match="file name|needs a name"):
        read_upload(png_bytes(), name, 32, 16 * MB)


def test_malformed_and_oversized_uploads_are_refused_with_clear_messages():
    with pytest.raises(UserError, match="not an image or a video"):
        read_upload(b"this is not a picture", "x.png", 32, 16 * MB)
    with pytest.raises(UserError, match="not an image or a video|unreadable"):
        read_upload(png_bytes()[:60], "truncated.png", 32, 16 * MB)
    with pytest.raises(UploadTooLarge, match="over the limit of 0.0 MiB"):
        read_upload(png_bytes(), "x.png", 32, 1000)
    with pytest.raises(UserError, match="empty"):
        read_upload(b"", "x.png", 32, 16 * MB)


# ------------------------------------------------------------------ recordings
def test_a_recording_downloads_as_a_gif_and_an_mp4_with_every_frame():
    world = scripted_world()
    session = PlaySession(world)
    session.reset(np.zeros((1, 32, 32, 3), np.uint8))
    for a in [1, 1, 2, 3, 0]:
        session.hold(a)
        session.step()
    recording = list(session.recording)
    gif = iio.imread(encode(recording, "gif", fps=30, scale=2), index=None)
    assert gif.shape == (6, 64, 64, 3)
    with av.open(io.BytesIO(encode(recording, "mp4", fps=30, scale=2))) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == 6 and frames[0].shape == (64, 64, 3)


# ------------------------------------------------------------------ settings
def test_play_settings_are_checked_and_name_the_key():
    assert PlaySettings.from_config({"play": {"port": 0}, "split": "val"}).split == "val"
    with pytest.raises(UserError, match="play.bogus"):
        PlaySettings.from_config({"play": {"bogus": 1}})
    with pytest.raises(UserError, match="play.ui='gui'"):
        PlaySettings.from_config({"play": {"ui": "gui"}})
    with pytest.raises(UserError, match="play.fps=0"):
        PlaySettings.from_config({"play": {"fps": 0}})
    settings = PlaySettings(default_action=2)
    assert settings.keymap(4) == {"ArrowRight": 0, "ArrowLeft": 1, "ArrowUp": 3}
    with pytest.raises(UserError, match="play.default_action=5"):
        PlaySettings(default_action=5).keymap(4)
    with pytest.raises(UserError, match="play.keys.Tab"):
        PlaySettings(keys={"Tab": 1}).keymap(4)
    with pytest.raises(UserError, match="play.keys.Space=4"):
        PlaySettings(keys={"Space": 4}).keymap(4)
    assert PlaySettings().is_loopback and not PlaySettings(host="0.0.0.0").is_loopback


# ------------------------------------------------------------------ terminal
def test_terminal_keys_are_parsed_from_raw_tty_bytes():
    assert parse_keys(b"1\x1b[A \x1b[Dq\x1b[5~r") == ["1", "ArrowUp", "Space", "ArrowLeft", "q", "r"]


def test_a_terminal_frame_is_drawn_with_two_pixels_per_character():
    frame = np.zeros((4, 3, 3), np.uint8)
    frame[1] = 255
    lines = render(frame).split("\n")
    assert len(lines) == 2 and lines[0].count("▀") == 3
    assert lines[0].startswith("\x1b[38;2;0;0;0m\x1b[48;2;255;255;255m")


class ScriptedKeys:
    def __init__(self, presses: list[list[str]]):
        self.presses = presses

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def read(self) -> list[str]:
        return self.presses.pop(0) if self.presses else []


def test_the_terminal_ui_plays_with_digits_and_mapped_keys_and_quits_on_q():
    world = scripted_world()
    settings = PlaySettings(ui="terminal", fps=200, default_action=0)
    keys = ScriptedKeys([["3"], [], ["ArrowRight"], ["q"]])
    out = io.StringIO()
    session = run_terminal(world, None, settings, settings.keymap(4), keys=keys, out=out)
    assert list(session.actions) == [2, 2, 1]
    assert "a=1" in out.getvalue() and out.getvalue().endswith("\x1b[?25h\n")


def test_the_terminal_ui_needs_a_tty():
    from genie.play.terminal import TTYKeys

    with pytest.raises(UserError, match="use ui=web"):
        TTYKeys(io.StringIO())


def test_play_runs_at_the_games_own_speed_unless_told_otherwise():
    from genie.play.settings import DEFAULT_FPS, PlaySettings

    assert PlaySettings().at_game_speed(5.0).fps == 5.0  # CoinRun recorded at frameskip 3
    assert PlaySettings().at_game_speed(None).fps == DEFAULT_FPS
    assert PlaySettings(fps=30.0).at_game_speed(5.0).fps == 30.0
