"""Decode one video file into square uint8 RGB frames of the model's size, refusing damaged or unusable input.

``VideoReader(path, frame_size)`` yields frames one at a time (uint8 [S, S, 3]), so a long video never has to fit in
memory. Every frame is converted to RGB (greyscale and palette video included), resized with area averaging, fitted
to the square frame by one of ``FITS`` and turned upright (display rotation of phone videos); with ``fps`` set,
frames are subsampled to at most that rate.

A file is refused with a ``VideoError`` that names it when it is empty, cannot be opened as a video, has no video
stream, is smaller than the frame size (it would need upscaling), or is damaged: FFmpeg reported a decoding error,
a packet or frame was flagged corrupt, or fewer frames were decoded than the container announces (a truncated file
often decodes "successfully" into fewer or garbage frames, so the counts are checked, not just exceptions).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import av.logging
import numpy as np

from genie.errors import UserError

VIDEO_EXTENSIONS = (".mp4", ".webm", ".mkv", ".avi", ".gif", ".mov")  # matched case-insensitively
FITS = ("crop", "letterbox", "stretch")  # centre crop | pad with black bars | ignore the aspect ratio


class VideoError(UserError):
    """A video file that cannot become an episode; the message names the file and the problem."""


def fit_frame(frame: av.VideoFrame, frame_size: int, fit: str) -> np.ndarray:
    """One decoded frame (any pixel format, any size >= ``frame_size``) -> uint8 [S, S, 3] RGB."""
    w, h = frame.width, frame.height
    if fit == "stretch":
        tw, th = frame_size, frame_size
    else:
        scale = frame_size / (min(w, h) if fit == "crop" else max(w, h))
        tw, th = max(1, round(w * scale)), max(1, round(h * scale))
        if fit == "crop":
            tw, th = max(tw, frame_size), max(th, frame_size)
    rgb_HWC = frame.reformat(width=tw, height=th, format="rgb24", interpolation="AREA").to_ndarray()
    if fit == "letterbox":
        out = np.zeros((frame_size, frame_size, 3), np.uint8)
        top, left = (frame_size - th) // 2, (frame_size - tw) // 2
        out[top : top + th, left : left + tw] = rgb_HWC
        return out
    top, left = (th - frame_size) // 2, (tw - frame_size) // 2
    return np.ascontiguousarray(rgb_HWC[top : top + frame_size, left : left + frame_size])


def upright(square_HWC: np.ndarray, rotation: int) -> np.ndarray:
    """Apply a video's display rotation (degrees counter-clockwise, e.g. 90 for a portrait phone video stored
    landscape) to a fitted square frame; fitting commutes with quarter turns, so rotating last is exact."""
    quarter_turns = round(rotation / 90) % 4
    return np.ascontiguousarray(np.rot90(square_HWC, quarter_turns)) if quarter_turns else square_HWC


def needs_upscaling(width: int, height: int, frame_size: int, fit: str) -> bool:
    """Whether fitting a ``width`` x ``height`` picture into the square frame would enlarge it."""
    side = max(width, height) if fit == "letterbox" else min(width, height)
    return side < frame_size


class VideoReader:
    """Iterate the frames of ``path`` as uint8 [S, S, 3]; raises ``VideoError`` (at open, or when iteration ends)
    for unusable or damaged files. After iteration: ``decoded`` (frames decoded), ``kept`` (frames yielded after fps
    subsampling), ``source_fps`` (None when unknown), ``width`` and ``height`` (source pixels)."""

    def __init__(self, path: str | Path, frame_size: int, fit: str = "crop", fps: float | None = None):
        if fit not in FITS:
            raise UserError(f"data.fit={fit!r}: expected one of {', '.join(FITS)}")
        if fps is not None and fps <= 0:
            raise UserError(f"data.fps={fps}: expected a positive frame rate or null (keep every frame)")
        self.path, self.frame_size, self.fit, self.fps = Path(path), frame_size, fit, fps
        self.decoded = self.kept = 0
        self.source_fps: float | None = None
        self.width = self.height = 0

    def fail(self, problem: str) -> VideoError:
        return VideoError(f"{self.path}: {problem}")

    def __iter__(self) -> Iterator[np.ndarray]:
        self.decoded = self.kept = 0
        if self.path.stat().st_size == 0:
            raise self.fail("empty file (0 bytes)")
        previous = av.logging.get_level(), av.logging.get_skip_repeated()
        av.logging.set_level(av.logging.ERROR)  # route FFmpeg's error messages to the capture below
        av.logging.set_skip_repeated(False)  # else a repeat of another file's message is replayed into ours
        try:
            with av.logging.Capture(local=False) as ffmpeg_errors:  # decoder threads log too
                yield from self._decode(ffmpeg_errors)
        finally:
            av.logging.set_level(previous[0])
            av.logging.set_skip_repeated(previous[1])

    def _open(self) -> av.container.InputContainer:
        try:
            return av.open(str(self.path), metadata_errors="ignore")
        except av.FFmpegError as e:
            raise self.fail(f"cannot be opened as a video ({ffmpeg_reason(e)}): not a video, or truncated") from None

    def _decode(self, ffmpeg_errors: list) -> Iterator[np.ndarray]:
        with self._open() as container:
            if not container.streams.video:
                raise self.fail("has no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            self.width, self.height = stream.codec_context.width, stream.codec_context.height
            self._check_size()
            self.source_fps = float(stream.average_rate) if stream.average_rate else None
            announced = announced_frames(container, stream)
            corrupt = 0
            start_time = None
            next_slot = 0
            try:
                for packet in container.demux(stream):
                    corrupt += packet.is_corrupt
                    for frame in packet.decode():
                        corrupt += frame.is_corrupt
                        self.width, self.height = frame.width, frame.height
                        self._check_size()
                        t = frame.time if frame.time is not None else self.decoded / (self.source_fps or 1.0)
                        start_time = t if start_time is None else start_time
                        self.decoded += 1
                        if self.fps is not None:  # keep the first frame of every 1/fps slot
                            slot = int(np.floor((t - start_time) * self.fps + 1e-6))
                            if slot < next_slot:
                                continue
                            next_slot = slot + 1
                        self.kept += 1
                        yield upright(fit_frame(frame, self.frame_size, self.fit), frame.rotation)
            except av.FFmpegError as e:
                raise self.fail(f"damaged: decoding failed after {self.decoded} frames ({ffmpeg_reason(e)})") from None
        if ffmpeg_errors:
            raise self.fail(f"damaged: FFmpeg reported {ffmpeg_message(ffmpeg_errors[0])!r} "
                            f"({len(ffmpeg_errors)} errors, {self.decoded} frames decoded)")
        if corrupt:
            raise self.fail(f"damaged: {corrupt} corrupt packets/frames ({self.decoded} frames decoded)")
        if announced and self.decoded < announced - max(2, round(0.02 * announced)):
            raise self.fail(f"truncated or damaged: decoded {self.decoded} frames, the container announces {announced}")

    def _check_size(self) -> None:
        if self.width and self.height and needs_upscaling(self.width, self.height, self.frame_size, self.fit):
            raise self.fail(f"{self.width}x{self.height} pixels is smaller than the frame size {self.frame_size} "
                            f"(fit={self.fit} would upscale it)")


def encode_video(path: str | Path, frames_THWC: np.ndarray, fps: int = 10, codec: str = "libx264",
                 pix_fmt: str = "yuv420p") -> Path:
    """Write uint8 [T, H, W, 3] RGB frames as a video (container chosen by the suffix): for tests and benchmarks."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.height, stream.width = frames_THWC.shape[1:3]
        stream.pix_fmt = pix_fmt
        for image_HWC in frames_THWC:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image_HWC, format="rgb24")))
        container.mux(stream.encode())
    return path


def announced_frames(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> int:
    """Frames the container says the stream holds: its frame count, else duration x frame rate; 0 if unknown."""
    if stream.frames:
        return int(stream.frames)
    if stream.duration and stream.time_base and stream.average_rate:
        return int(round(float(stream.duration * stream.time_base * stream.average_rate)))
    if container.duration and stream.average_rate:
        return int(round(container.duration / av.time_base * float(stream.average_rate)))
    return 0


def is_video_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in VIDEO_EXTENSIONS


def ffmpeg_reason(error: av.FFmpegError) -> str:
    """FFmpeg's error text plus its last logged detail, without errno and path: "Invalid data ...: moov atom ..."."""
    reason = error.strerror or type(error).__name__
    return f"{reason}: {error.log[2].strip()}" if error.log else reason


def ffmpeg_message(record: tuple) -> str:
    """A captured FFmpeg log record ``(level, component, message)`` as ``component: message``."""
    _, component, message = record
    return f"{component}: {message.strip()}" if component else message.strip()
