"""What a run's artefacts hold, not only that they exist: GIFs that decode to frames that are not one flat colour,
PNGs with a picture, metrics files whose numbers are finite."""

from __future__ import annotations

import json
import math
from pathlib import Path

import imageio.v3 as iio
import numpy as np


def gif_frames(path: Path, min_frames: int = 1) -> np.ndarray:
    """The frames of a GIF as uint8 [T, H, W, 3]; at least ``min_frames`` of them, and not one flat colour. The GIF
    writer merges identical consecutive frames: a world that does not move (a tiny test run's action grid) is one."""
    frames = np.asarray(iio.imread(path))[..., :3]
    assert frames.ndim == 4 and len(frames) >= min_frames, f"{path}: {frames.shape}, expected >= {min_frames} frames"
    assert frames.std() > 0, f"{path}: one flat colour"
    return frames


def png_image(path: Path) -> np.ndarray:
    """A PNG as uint8 [H, W, 3]; not one flat colour."""
    image = np.asarray(iio.imread(path))[..., :3]
    assert image.ndim == 3 and image.std() > 0, f"{path}: {image.shape}, flat or not a picture"
    return image


def metrics_file(path: Path, *keys: str) -> dict:
    """A metrics.json / eval.json; each of ``keys`` is there and a finite number."""
    metrics = json.loads(Path(path).read_text())
    for key in keys:
        assert key in metrics and math.isfinite(metrics[key]), f"{path}: {key} = {metrics.get(key)!r}"
    return metrics


def check_artefact(path: Path) -> None:
    """A report's artefact by its kind: .gif, .png or .json."""
    {".gif": gif_frames, ".png": png_image, ".json": metrics_file}[Path(path).suffix](path)
