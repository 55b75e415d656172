"""A play session's recording as a GIF (imageio) or an MP4 (PyAV, H.264), upscaled and labelled with the actions."""

from __future__ import annotations

import io
from collections.abc import Iterable

import av
import imageio.v3 as iio
import numpy as np

from genie.drawing import label, upscale
from genie.play.session import START

FORMATS = {"gif": "image/gif", "mp4": "video/mp4"}


def labelled_frames(recording: Iterable[tuple[np.ndarray, int]], scale: int) -> np.ndarray:
    """(frame uint8 [H, W, 3], action or START) pairs -> uint8 [T, H * scale, W * scale, 3], each frame tagged with
    the latent action that produced it."""
    frames = []
    for frame, action in recording:
        frames.append(label(upscale(frame, scale), "start" if action == START else f"a={action}"))
    return np.stack(frames)


def encode(recording: list[tuple[np.ndarray, int]], fmt: str, fps: float, scale: int) -> bytes:
    """The recording as a file's bytes; ``fmt`` is one of FORMATS."""
    frames = labelled_frames(recording, scale)
    if fmt == "gif":
        return gif_bytes(frames, fps)
    if fmt == "mp4":
        return encode_mp4(frames, fps)
    raise ValueError(f"unknown recording format {fmt!r} (known: {', '.join(FORMATS)})")


def gif_bytes(frames_THWC: np.ndarray, fps: float) -> bytes:
    """uint8 [T, H, W, 3] -> a looping GIF's bytes."""
    return iio.imwrite("<bytes>", frames_THWC, extension=".gif", duration=1000 / fps, loop=0)


def encode_mp4(frames_THWC: np.ndarray, fps: float) -> bytes:
    """uint8 [T, H, W, 3] (H and W even) -> H.264 MP4 bytes in yuv420p, which every player opens."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=round(fps))
        stream.height, stream.width = frames_THWC.shape[1:3]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "18"}
        for frame in frames_THWC:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode(None))
    return buffer.getvalue()
