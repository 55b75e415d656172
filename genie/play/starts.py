"""Where a play session starts: frames of a held-out episode (chosen or random), or an uploaded image / video frame.

Every function returns start frames as uint8 [T, S, S, 3] (S = the world's frame size, newest frame last) or raises a
UserError whose message the server sends back with a 4xx status.
"""

from __future__ import annotations

import io
from pathlib import PurePosixPath, PureWindowsPath
from urllib.parse import unquote

import av
import numpy as np
from PIL import Image, UnidentifiedImageError

from genie.data.store import EpisodeStore
from genie.errors import UserError

MAX_PIXELS = 40_000_000  # larger images or video frames are refused before decoding (decompression bombs)
MAX_VIDEO_FRAME = 10_000  # the furthest video frame an upload may start from


class UploadTooLarge(UserError):
    """An upload over the size limit (the server answers 413)."""


# ------------------------------------------------------------------ held-out episodes
def episode_context(store: EpisodeStore, split: str, name: str, frame: int, window: int) -> np.ndarray:
    """Frames ``frame - window + 1 .. frame`` of a held-out episode (fewer at its start): uint8 [<= window, S, S, 3]."""
    info = next((e for e in store.episodes(split) if e.name == name), None)
    if info is None:
        raise UserError(f"episode {name!r}: no such '{split}' episode in {store.root}")
    if isinstance(frame, bool) or not isinstance(frame, int) or not 0 <= frame < info.length:
        raise UserError(f"frame {frame!r}: episode {name!r} has frames 0..{info.length - 1}")
    return np.array(store.frames(name)[max(0, frame - window + 1) : frame + 1])


def random_context(store: EpisodeStore, split: str, window: int,
                   rng: np.random.Generator) -> tuple[str, int, np.ndarray]:
    """A random frame of a random held-out episode: (episode name, frame index, frames uint8 [<= window, S, S, 3])."""
    episodes = store.episodes(split)
    if not episodes:
        raise UserError(f"{store.root}: no '{split}' episodes to start from; upload an image instead")
    info = episodes[rng.integers(len(episodes))]
    frame = int(rng.integers(min(window - 1, info.length - 1), info.length))
    return info.name, frame, episode_context(store, split, info.name, frame, window)


def any_start(store: EpisodeStore | None, split: str, window: int, frame_size: int,
              rng: np.random.Generator) -> tuple[np.ndarray, dict[str, object]]:
    """A random held-out frame, or a grey frame where there are no held-out episodes: (frames uint8
    [<= window, S, S, 3], a description of the source for the page)."""
    if store is None or not store.episodes(split):
        return np.full((1, frame_size, frame_size, 3), 128, np.uint8), {"source": "blank"}
    name, frame, context = random_context(store, split, window, rng)
    return context, {"source": "episode", "episode": name, "frame": frame}


# ------------------------------------------------------------------ uploads
def check_file_name(name: str) -> str:
    """A bare file name, or a UserError: uploads must not carry a path (``../x``, ``C:\\x``, ``a/b``, ``..%2Fx``)."""
    if not name or "\x00" in name:
        raise UserError("upload: the file needs a name")
    decoded = unquote(name)  # some clients percent-encode the name: "..%2Fx" is a path too
    bare = all(PurePosixPath(n).name == n and PureWindowsPath(n).name == n for n in (name, decoded))
    if not bare or decoded in (".", ".."):
        raise UserError(f"upload: file name {name!r} contains a path; send a bare file name")
    return name


def read_upload(data: bytes, name: str, frame_size: int, max_bytes: int, frame_index: int = 0) -> np.ndarray:
    """An uploaded image (PNG, JPEG, GIF, WebP, BMP ...) or video (MP4, WebM, AVI ...) -> its frame ``frame_index``
    (images: 0), centre-cropped to a square and resized: uint8 [1, S, S, 3]."""
    check_file_name(name)
    if len(data) > max_bytes:
        raise UploadTooLarge(f"upload {name!r}: {len(data) / 2**20:.1f} MiB is over the limit of "
                             f"{max_bytes / 2**20:.1f} MiB (play.max_upload_mb)")
    if not data:
        raise UserError(f"upload {name!r}: the file is empty")
    if isinstance(frame_index, bool) or not isinstance(frame_index, int) or not 0 <= frame_index <= MAX_VIDEO_FRAME:
        raise UserError(f"upload {name!r}: frame {frame_index!r} must be in 0..{MAX_VIDEO_FRAME}")
    try:
        image = _image(data, name, frame_index)
    except UnidentifiedImageError:
        image = _video_frame(data, name, frame_index)
    return square(image, frame_size)[None]


def _image(data: bytes, name: str, frame_index: int) -> Image.Image:
    try:
        opened = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as e:
        raise UserError(f"upload {name!r}: {e}") from e
    with opened as image:
        _check_pixels(image.width, image.height, name)
        try:
            image.seek(frame_index)  # animated GIF / WebP frames; still images have only frame 0
        except EOFError as e:
            raise UserError(f"upload {name!r}: the image has no frame {frame_index}") from e
        try:
            return image.convert("RGB")
        except (OSError, ValueError, SyntaxError, EOFError) as e:  # what Pillow raises for broken image data
            raise UserError(f"upload {name!r}: unreadable image ({e})") from e


def _video_frame(data: bytes, name: str, frame_index: int) -> Image.Image:
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.video:
                raise UserError(f"upload {name!r}: not an image or a video (no video stream)")
            stream = container.streams.video[0]
            _check_pixels(stream.codec_context.width, stream.codec_context.height, name)
            for i, frame in enumerate(container.decode(stream)):
                if i == frame_index:
                    return frame.to_image()
    except (av.FFmpegError, ValueError, OSError) as e:
        raise UserError(f"upload {name!r}: not an image or a video this server can read ({e})") from e
    raise UserError(f"upload {name!r}: the video has no frame {frame_index}")


def _check_pixels(width: int, height: int, name: str) -> None:
    if width * height > MAX_PIXELS:
        raise UserError(f"upload {name!r}: {width}x{height} pixels is over the limit of {MAX_PIXELS:,}")


def square(image: Image.Image, size: int) -> np.ndarray:
    """Centre-crop to a square and resize (area-averaged): uint8 [size, size, 3]."""
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    image = image.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.BOX)
    return np.asarray(image, dtype=np.uint8)
