"""``ShardClips``: pixel clips streamed from shards (genie/data/shards.py) by litdata, one share of the chunks per
rank and DataLoader worker; ``stream_loader`` batches them with litdata's ``StreamingDataLoader``, whose position
Lightning saves in checkpoints and restores on resume. Imported only by runs that stream (litdata is optional)."""

from __future__ import annotations

from pathlib import Path

import torch

from genie.data.shards import HEADER_NAME, read_header, require_litdata
from genie.data.store import StoreError

litdata = require_litdata()
# litdata 0.2.44 asks PyPI for a newer release whenever a dataset is made (up to a 30 s timeout offline). Nothing here
# may touch the network at run time, and the release is pinned on purpose (later ones require torchvision): no check.
litdata.streaming.dataset._check_version_and_prompt_upgrade = lambda version: None


class ShardClips(litdata.StreamingDataset):
    """Items as ``PixelClips``'s: ``frames`` uint8 [T, H, W, 3], ``actions`` int64 [T-1] (true actions or -1),
    ``episode``, ``start``; T = ``clip_len``, the first frames of each stored clip. ``frame_size`` is the store's,
    which the models are built for."""

    def __init__(self, folder: str | Path, clip_len: int, frame_size: int, shuffle: bool = True, seed: int = 0):
        folder = Path(folder).expanduser()
        header, path = read_header(folder), folder / HEADER_NAME
        if clip_len > header["clip_len"]:
            raise StoreError(f"{path}: shards hold clips of {header['clip_len']} frames, this stage reads {clip_len}; "
                             f"export them again with clip_len={clip_len} into another data.stream")
        if header["frame_size"] != frame_size:
            raise StoreError(f"{path}: shards hold {header['frame_size']}px frames, the store's are {frame_size}px")
        super().__init__(str(folder), shuffle=shuffle, seed=seed)
        self.clip_len = clip_len

    def __getitem__(self, index) -> dict[str, torch.Tensor]:
        item = super().__getitem__(index)
        return {
            "frames": torch.from_numpy(item["frames"][: self.clip_len].copy()),  # litdata's buffer is read-only
            "actions": torch.from_numpy(item["actions"][: self.clip_len - 1].copy()),
            "episode": torch.tensor(item["episode"]),
            "start": torch.tensor(item["start"]),
        }


def stream_loader(dataset: ShardClips, batch_size: int, num_workers: int) -> litdata.StreamingDataLoader:
    """Shuffled batches of ``batch_size`` clips, the last partial batch dropped (as the local loader's)."""
    return litdata.StreamingDataLoader(dataset, batch_size=batch_size, num_workers=num_workers, drop_last=True)
