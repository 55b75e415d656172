"""Drawing on frames for people: pixelated upscaling and a text tag in the corner (uint8 [..., H, W, 3]); the
report's videos and play's recordings use both."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw


def upscale(frames_NHWC: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour (pixelated) upscaling of uint8 [..., H, W, 3]."""
    return frames_NHWC.repeat(factor, axis=-3).repeat(factor, axis=-2)


def label(frame_HWC: np.ndarray, text: str) -> np.ndarray:
    """Draw ``text`` in the top-left corner on a dark box."""
    image = Image.fromarray(frame_HWC)
    draw = ImageDraw.Draw(image)
    box = draw.textbbox((2, 1), text)
    draw.rectangle((0, 0, box[2] + 2, box[3] + 2), fill=(0, 0, 0))
    draw.text((2, 1), text, fill=(255, 255, 255))
    return np.asarray(image)
