"""Streaming shards (genie/data/shards.py): the local store's clips exported as litdata chunks, read back as the same
items, each DDP rank streaming its own chunks, and the stream's position restored when a stage resumes."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytest.importorskip("litdata", reason="streaming shards need the optional litdata: pip install -e '.[stream]'")

import lightning as L  # noqa: E402
from lightning.pytorch.callbacks import ModelCheckpoint  # noqa: E402

from genie.data.clips import PixelClips  # noqa: E402
from genie.data.shard_clips import ShardClips, stream_loader  # noqa: E402
from genie.data.shards import HEADER_NAME, export_shards  # noqa: E402
from genie.data.store import StoreError  # noqa: E402
from genie.data.synthetic import generate_synthetic  # noqa: E402
from genie.errors import UserError  # noqa: E402
from tests.conftest import LeaveProcessGroup, compose_train  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FRAME_SIZE, CLIP_LEN, BATCH = 32, 5, 8


@pytest.fixture(scope="module")
def small_store(tmp_path_factory):
    """6 train episodes of 24 frames: 120 clips of 5 frames."""
    return generate_synthetic(str(tmp_path_factory.mktemp("store")), FRAME_SIZE, {"train": 6, "val": 2, "test": 2}, 24)


@pytest.fixture(scope="module")
def shards(small_store, tmp_path_factory) -> Path:
    """The store's train clips in ~10 chunks, so that workers and ranks have several each."""
    return export_shards(small_store, tmp_path_factory.mktemp("out") / "shards", clip_len=CLIP_LEN, chunk_bytes="200kB")


def ids(batches) -> list[tuple[int, int]]:
    return [(e, s) for b in batches for e, s in zip(b["episode"].tolist(), b["start"].tolist())]


# ------------------------------------------------------------------------------------------------ export and read
def test_shards_hold_every_clip_of_the_local_store_unchanged(small_store, shards):
    local = PixelClips(small_store.root, "train", CLIP_LEN)
    where = {tuple(local.index[i].tolist()): i for i in range(len(local))}
    streamed = ShardClips(shards, CLIP_LEN, FRAME_SIZE, shuffle=False)
    assert len(streamed) == len(local) == 120
    seen = set()
    for j in range(len(streamed)):
        item = streamed[j]
        key = (int(item["episode"]), int(item["start"]))
        expected = local[where[key]]
        assert all(torch.equal(item[k], expected[k]) and item[k].dtype == expected[k].dtype for k in expected), key
        seen.add(key)
    assert seen == set(where)


def test_clips_are_written_in_a_mixed_order_so_a_chunk_spans_many_episodes(shards):
    first_chunk = [int(ShardClips(shards, CLIP_LEN, FRAME_SIZE, shuffle=False)[i]["episode"]) for i in range(12)]
    assert len(set(first_chunk)) >= 4


def test_a_stage_with_shorter_clips_reads_the_first_frames(small_store, shards):
    item = ShardClips(shards, 2, FRAME_SIZE, shuffle=False)[0]
    local = PixelClips(small_store.root, "train", 2)
    i = [tuple(r) for r in local.index.tolist()].index((int(item["episode"]), int(item["start"])))
    assert item["frames"].shape == (2, FRAME_SIZE, FRAME_SIZE, 3) and item["actions"].shape == (1,)
    assert torch.equal(item["frames"], local[i]["frames"]) and torch.equal(item["actions"], local[i]["actions"])


@pytest.mark.parametrize("workers", [0, 2])
def test_an_epoch_streams_every_clip_once_in_full_batches(shards, workers):
    batches = list(stream_loader(ShardClips(shards, CLIP_LEN, FRAME_SIZE), BATCH, workers))
    assert [len(b["frames"]) for b in batches] == [BATCH] * 15
    assert len(set(ids(batches))) == 120
    assert batches[0]["frames"].shape == (BATCH, CLIP_LEN, FRAME_SIZE, FRAME_SIZE, 3)
    assert batches[0]["frames"].dtype == torch.uint8 and batches[0]["actions"].dtype == torch.int64


def test_export_reuses_its_own_shards_and_refuses_another_export_in_their_folder(small_store, shards):
    before = (shards / "index.json").stat().st_mtime_ns
    assert export_shards(small_store, shards, clip_len=CLIP_LEN, chunk_bytes="200kB") == shards
    assert (shards / "index.json").stat().st_mtime_ns == before
    with pytest.raises(StoreError, match=f"{HEADER_NAME}.*clip_len"):
        export_shards(small_store, shards, clip_len=CLIP_LEN + 1)


def test_interrupted_export_leaves_no_shards(small_store, tmp_path, monkeypatch):
    calls = []

    def failing_read(self, i):
        calls.append(i)
        if len(calls) > 30:
            raise KeyboardInterrupt
        return original(self, i)

    original = PixelClips.__getitem__
    monkeypatch.setattr(PixelClips, "__getitem__", failing_read)
    with pytest.raises(KeyboardInterrupt):
        export_shards(small_store, tmp_path / "shards", chunk_bytes="100kB")
    assert list(tmp_path.iterdir()) == []  # neither the folder nor its partial twin


@pytest.mark.parametrize(
    "folder, clip_len, frame_size, message",
    [("nowhere", CLIP_LEN, FRAME_SIZE, "shards.json missing.*genie.commands.shard"),
     (None, CLIP_LEN + 3, FRAME_SIZE, "clips of 5 frames, this stage reads 8"),
     (None, CLIP_LEN, 64, "32px frames, the store's are 64px")],
    ids=["missing", "clips_too_short", "frame_size"],
)
def test_unusable_shards_are_refused_naming_the_folder(shards, tmp_path, folder, clip_len, frame_size, message):
    path = tmp_path / folder if folder else shards
    with pytest.raises(StoreError, match=message) as error:
        ShardClips(path, clip_len, frame_size)
    assert str(path) in str(error.value)


def test_export_refuses_a_zero_stride(small_store, tmp_path):
    with pytest.raises(UserError, match="stride=0"):
        export_shards(small_store, tmp_path / "shards", stride=0)


# ------------------------------------------------------------------------------------------------ resume
class RecordClips(L.LightningModule):
    """Records the (episode, start) ids of every training batch, and writes them to ``out/<rank>.json`` at the end
    when ``out`` is given; learns nothing."""

    def __init__(self, out: str | None = None):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(()))
        self.seen: list[tuple[int, int]] = []
        self.out = out

    def training_step(self, batch, batch_idx):
        self.seen += ids([batch])
        return self.w * batch["frames"].float().mean()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.0)

    def on_train_end(self):
        if self.out:
            Path(self.out, f"{self.global_rank}.json").write_text(json.dumps(self.seen))


class ShardData(L.LightningDataModule):
    def __init__(self, shards: Path, workers: int):
        super().__init__()
        self.shards, self.workers = shards, workers

    def train_dataloader(self):
        return stream_loader(ShardClips(self.shards, CLIP_LEN, FRAME_SIZE), BATCH, self.workers)


def fit(module, shards, steps, workers, ckpt_dir=None, ckpt_path=None) -> None:
    callbacks = [ModelCheckpoint(ckpt_dir, every_n_train_steps=18, save_top_k=-1)] if ckpt_dir else []
    trainer = L.Trainer(max_steps=steps, accelerator="cpu", logger=False, enable_checkpointing=bool(ckpt_dir),
                        callbacks=callbacks, enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(module, datamodule=ShardData(shards, workers), ckpt_path=ckpt_path)


@pytest.mark.parametrize("workers", [0, pytest.param(2, marks=pytest.mark.slow)])
def test_resumed_stage_continues_the_stream_where_its_checkpoint_was_written(shards, tmp_path, workers):
    """Killed after the checkpoint at step 18 (3 batches into the second epoch), the stage resumes from it and
    streams exactly the clips the uninterrupted run saw from step 19 on, not the start of an epoch again."""
    uninterrupted = RecordClips()
    fit(uninterrupted, shards, 24, workers, ckpt_dir=tmp_path)
    resumed = RecordClips()
    fit(resumed, shards, 24, workers, ckpt_path=tmp_path / "epoch=1-step=18.ckpt")
    assert resumed.seen == uninterrupted.seen[18 * BATCH:]
    assert len(set(uninterrupted.seen[:15 * BATCH])) == 120  # the first epoch: every clip once


@pytest.mark.slow
def test_tokenizer_stage_trains_from_shards_and_checkpoints_their_position(tmp_path, shared_data):
    from omegaconf import OmegaConf

    from genie.data.prepare import prepare_store
    from genie.training.pipeline import train

    cfg = compose_train(tmp_path, "stage=tokenizer", data_dir=shared_data)
    store = prepare_store(OmegaConf.to_container(cfg.data, resolve=True))
    stream = export_shards(store, tmp_path / "shards", clip_len=CLIP_LEN)
    cfg = compose_train(tmp_path, "stage=tokenizer", f"data.stream={stream}", data_dir=shared_data)
    assert "tokenizer/val/psnr" in train(cfg)
    last = torch.load(Path(cfg.paths.output_dir) / "checkpoints" / "tokenizer" / "last.ckpt", weights_only=True)
    position = last["loops"]["fit_loop"]["state_dict"]["combined_loader"][0]
    assert position["num_samples_yielded"] == last["global_step"] * cfg.budget.tokenizer.batch_size > 0
    assert position["dataset"]["input_dir_path"] == str(stream)


# ------------------------------------------------------------------------------------------------ command
@pytest.mark.slow
def test_shard_command_writes_the_train_split_of_a_data_config(tmp_path):
    data = [f"paths.data_dir={tmp_path / 'data'}", "data=synthetic", f"data.frame_size={FRAME_SIZE}",
            "data.episodes={train: 2, val: 1, test: 1}", "data.episode_len=12"]
    done = subprocess.run([sys.executable, "-m", "genie.commands.shard", *data, f"data.stream={tmp_path / 'shards'}",
                           "clip_len=3", "stride=2"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    header = json.loads((tmp_path / "shards" / HEADER_NAME).read_text())
    assert (header["split"], header["clip_len"], header["stride"], header["clips"]) == ("train", 3, 2, 10)


# ------------------------------------------------------------------------------------------------ many processes
@pytest.mark.slow
def test_each_ddp_rank_streams_its_own_chunks(shards, tmp_path):
    trainer = L.Trainer(max_epochs=1, accelerator="cpu", devices=2, strategy="ddp_spawn", logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                        callbacks=[LeaveProcessGroup()])
    trainer.fit(RecordClips(str(tmp_path)), datamodule=ShardData(shards, 0))
    rank0, rank1 = ({tuple(x) for x in json.loads((tmp_path / f"{r}.json").read_text())} for r in (0, 1))
    assert rank0 and rank1 and not rank0 & rank1
    assert len(rank0 | rank1) >= 120 - 2 * BATCH  # drop_last may leave the end of each rank's share
