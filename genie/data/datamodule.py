"""LightningDataModule over clip datasets: pixel clips (tokenizer, LAM) or token clips (dynamics); pixel stages may
train from shards streamed by litdata instead of the local store (``stream``; genie/data/shards.py)."""

from __future__ import annotations

import lightning as L
import numpy as np
from torch.utils.data import DataLoader, Dataset

from genie.data.action_balance import ActionBalance, balanced_sampler
from genie.data.clips import PixelClips
from genie.data.store import EpisodeStore
from genie.data.token_store import TokenClips

DATASETS: dict[str, type[Dataset]] = {"pixels": PixelClips, "tokens": TokenClips}


class ClipDataModule(L.LightningDataModule):
    """``kind``: "pixels" or "tokens"; ``clip_len``: frames per clip; val/test clips are taken every
    ``eval_stride`` frames so evaluation covers many levels without near-duplicate clips. ``stream``: a shard folder
    (``data.stream``) that the training clips of a pixel stage are streamed from, each rank reading its own chunks and
    the position restored on resume; validation and test still read the local store, so their metrics compare with
    a run trained from it. ``balance``: token clips for training drawn with rare actions more often
    (genie/data/action_balance.py); validation and test clips are never reweighed."""

    def __init__(self, root: str, kind: str, clip_len: int, batch_size: int, num_workers: int = 0,
                 eval_stride: int = 8, stream: str | None = None, balance: ActionBalance | None = None):
        super().__init__()
        if kind not in DATASETS:
            raise ValueError(f"unknown clip kind {kind!r} (known: {sorted(DATASETS)})")
        if stream and kind != "pixels":
            raise ValueError(f"data.stream={stream}: shards hold pixel clips, this stage reads {kind}")
        if balance is not None and kind != "tokens":
            raise ValueError(f"action balance draws token clips by their action; this stage reads {kind}")
        self.root, self.kind, self.clip_len, self.stream, self.balance = root, kind, clip_len, stream, balance
        self.batch_size, self.num_workers, self.eval_stride = batch_size, num_workers, eval_stride

    def dataset(self, split: str) -> Dataset:
        stride = 1 if split == "train" else self.eval_stride
        return DATASETS[self.kind](self.root, split, self.clip_len, stride)

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        dataset, sampler = self.dataset(split), None
        if shuffle and self.balance is not None and self.balance.exponent > 0:
            actions_NP = np.stack([dataset.clip_actions(self.balance.kind, p) for p in self.balance.positions], 1)
            sampler, shuffle = balanced_sampler(self.balance.of_clips(actions_NP), self.balance.exponent), False
        return DataLoader(
            dataset, batch_size=self.batch_size, shuffle=shuffle, sampler=sampler, drop_last=split == "train",
            num_workers=self.num_workers, persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        if not self.stream:
            return self._loader("train", True)
        from genie.data.shard_clips import ShardClips, stream_loader  # litdata: only for runs that stream

        clips = ShardClips(self.stream, self.clip_len, EpisodeStore(self.root).frame_size)
        return stream_loader(clips, self.batch_size, self.num_workers)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", False)
