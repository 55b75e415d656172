"""LightningDataModule over clip datasets: pixel clips (tokenizer, LAM) or token clips (dynamics)."""

from __future__ import annotations

import lightning as L
from torch.utils.data import DataLoader, Dataset

from genie.data.clips import PixelClips
from genie.data.token_store import TokenClips

DATASETS: dict[str, type[Dataset]] = {"pixels": PixelClips, "tokens": TokenClips}


class ClipDataModule(L.LightningDataModule):
    """``kind``: "pixels" or "tokens"; ``clip_len``: frames per clip; val/test clips are taken every
    ``eval_stride`` frames so evaluation covers many levels without near-duplicate clips."""

    def __init__(self, root: str, kind: str, clip_len: int, batch_size: int, num_workers: int = 0,
                 eval_stride: int = 8):
        super().__init__()
        if kind not in DATASETS:
            raise ValueError(f"unknown clip kind {kind!r} (known: {sorted(DATASETS)})")
        self.root, self.kind, self.clip_len = root, kind, clip_len
        self.batch_size, self.num_workers, self.eval_stride = batch_size, num_workers, eval_stride

    def dataset(self, split: str) -> Dataset:
        stride = 1 if split == "train" else self.eval_stride
        return DATASETS[self.kind](self.root, split, self.clip_len, stride)

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        return DataLoader(
            self.dataset(split), batch_size=self.batch_size, shuffle=shuffle, drop_last=shuffle,
            num_workers=self.num_workers, persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", False)
