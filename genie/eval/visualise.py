"""Images and GIFs for people: side-by-side strips, labelled frames, error maps, t-SNE plots."""

from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import numpy as np
from PIL import Image

from genie.data.store import atomic_file


def error_map(a_NHWC: np.ndarray, b_NHWC: np.ndarray, gain: float = 4.0) -> np.ndarray:
    """Per-pixel absolute error, amplified and shown in red/yellow: uint8 [..., H, W, 3]."""
    err = np.abs(a_NHWC.astype(np.float32) - b_NHWC.astype(np.float32)).mean(-1) * gain
    err = np.clip(err, 0, 255)
    return np.stack([err, np.clip(err * 0.6, 0, 255), np.zeros_like(err)], axis=-1).astype(np.uint8)


def side_by_side(*videos_THWC: np.ndarray, gap: int = 2) -> np.ndarray:
    """Concatenate equally long videos horizontally with a white gap: uint8 [T, H, W_total, 3]."""
    T, H = videos_THWC[0].shape[:2]
    spacer = np.full((T, H, gap, 3), 255, np.uint8)
    parts = []
    for v in videos_THWC:
        parts += [v, spacer]
    return np.concatenate(parts[:-1], axis=2)


def write_gif(path: Path, frames_THWC: np.ndarray, fps: float = 10.0) -> Path:
    """Atomically write a looping GIF."""
    path = Path(path)
    with atomic_file(path) as f:
        iio.imwrite(f, frames_THWC, extension=".gif", duration=1000 / fps, loop=0)
    return path


def write_png(path: Path, image_HWC: np.ndarray) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image_HWC).save(path)
    return path


def frame_strip(frames_THWC: np.ndarray, every: int = 1, max_frames: int = 16) -> np.ndarray:
    """A row of frames, for looking at a GIF as one PNG."""
    picked = frames_THWC[::every][:max_frames]
    return np.concatenate(list(picked), axis=1)


def tsne_figure(path: Path, embedding_N2: np.ndarray, colourings: dict[str, tuple[np.ndarray, list[str] | None]]) -> Path:
    """One scatter panel per colouring: ``{title: (labels int [N], label names or None)}``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(colourings), figsize=(6 * len(colourings), 5), squeeze=False)
    palette = plt.get_cmap("tab20").colors  # 20 distinct colours: CoinRun has 15 actions
    for ax, (title, (labels, names)) in zip(axes[0], colourings.items()):
        for i, value in enumerate(np.unique(labels)):
            mask = labels == value
            name = names[value] if names is not None and 0 <= value < len(names) else str(value)
            ax.scatter(embedding_N2[mask, 0], embedding_N2[mask, 1], s=6, label=name, alpha=0.7,
                       color=palette[(2 * i) % 20 if len(np.unique(labels)) <= 10 else i % 20])
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.legend(markerscale=2, fontsize=7, loc="best", ncol=2)
    fig.tight_layout()
    return save_figure(fig, path, dpi=110)


def save_figure(fig, path: Path, dpi: int | None = None) -> Path:
    """Write a matplotlib figure as PNG, atomically (a reader never sees half a file), and close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, dpi=dpi, format="png")
    plt.close(fig)
    tmp.replace(path)
    return path
