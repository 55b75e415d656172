"""Tiny test videos written on the fly with PyAV, and damaged files made from them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from genie.data.video import encode_video

# suffix -> (codec, pixel format): every container the importer claims to read
CODECS = {
    ".mp4": ("libx264", "yuv420p"),
    ".webm": ("libvpx-vp9", "yuv420p"),
    ".mkv": ("mpeg4", "yuv420p"),
    ".avi": ("mjpeg", "yuvj420p"),
    ".gif": ("gif", "rgb8"),
}


def moving_square(frames: int, width: int, height: int, seed: int = 0) -> np.ndarray:
    """uint8 [T, H, W, 3]: a bright square sliding right over a seeded background."""
    rng = np.random.default_rng(seed)
    video = np.broadcast_to(rng.integers(0, 120, 3, dtype=np.uint8), (frames, height, width, 3)).copy()
    side = max(height // 4, 2)
    for t in range(frames):
        x = (t * 3) % max(width - side, 1)
        video[t, height // 3 : height // 3 + side, x : x + side] = 230
    return video


def write_video(path: Path, frames: int = 12, width: int = 48, height: int = 40, fps: int = 10, seed: int = 0,
                codec: str | None = None, pix_fmt: str | None = None) -> Path:
    """Encode a moving-square clip; the codec follows the (case-insensitive) suffix unless given."""
    default_codec, default_pix = CODECS[path.suffix.lower()]
    return encode_video(path, moving_square(frames, width, height, seed), fps, codec or default_codec,
                        pix_fmt or default_pix)


def truncate(source: Path, target: Path, keep: float = 0.6) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: int(len(data) * keep)])
    return target
