"""The store's journal: episodes are recorded by appending one line, so a store grows at a constant cost per episode,
and whatever stops a writer (an exception, kill -9 mid-line, kill -9 while folding) leaves a store that loads with
only whole episodes and a generation that continues where it stopped."""

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from genie.data.journal import JOURNAL_NAME, JournalError
from genie.data.store import EpisodeStore, StoreError
from genie.data.synthetic import generate_synthetic
from genie.data.token_store import TokenStore


def frames(T=3, size=8, value=0):
    return np.full((T, size, size, 3), value, np.uint8)


def test_many_episodes_are_journaled_then_folded_into_the_manifest(tmp_path):
    store = EpisodeStore.create(tmp_path, "unit", frame_size=8)
    for e in range(300):
        store.add_episode(f"ep{e:03d}", frames(T=2 + e % 4, value=e % 256), split=("train", "val")[e % 2])
    assert len((tmp_path / JOURNAL_NAME).read_text().splitlines()) == 300
    assert json.loads((tmp_path / "manifest.json").read_text())["episodes"] == []  # not rewritten per episode
    while_writing = EpisodeStore(tmp_path)
    assert len(while_writing) == 300 and len(while_writing.episodes("val")) == 150
    assert while_writing.episodes()[299].length == 2 + 299 % 4 and int(while_writing.frames("ep299")[0, 0, 0, 0]) == 43

    store.mark_complete()
    assert not (tmp_path / JOURNAL_NAME).exists()
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["format_version"] == 1 and manifest["complete"] and len(manifest["episodes"]) == 300
    assert [e.name for e in EpisodeStore(tmp_path).episodes()] == [e.name for e in while_writing.episodes()]


def test_a_torn_last_journal_line_is_ignored_with_a_warning_and_cut_off_by_the_next_write(tmp_path, caplog):
    store = EpisodeStore.create(tmp_path, "unit", frame_size=8)
    for name in ("a", "b"):
        store.add_episode(name, frames())
    with open(tmp_path / JOURNAL_NAME, "ab") as journal:
        journal.write(b'{"add": {"name": "c", "len')  # what kill -9 in the middle of the write leaves
    with caplog.at_level(logging.WARNING):
        reopened = EpisodeStore(tmp_path)
    assert [e.name for e in reopened.episodes()] == ["a", "b"]
    assert "journal.jsonl: ignoring its last line, cut short" in caplog.text
    reopened.add_episode("c", frames())
    caplog.clear()
    assert [e.name for e in EpisodeStore(tmp_path).episodes()] == ["a", "b", "c"] and not caplog.text


def test_a_bad_journal_line_before_the_last_names_the_file_and_line(tmp_path):
    store = EpisodeStore.create(tmp_path, "unit", frame_size=8)
    store.add_episode("a", frames())
    with open(tmp_path / JOURNAL_NAME, "ab") as journal:
        journal.write(b"garbage\n")
    store.add_episode("b", frames())
    with pytest.raises(JournalError, match=r"journal.jsonl: line 2 is not a JSON object"):
        EpisodeStore(tmp_path)


def test_a_journal_entry_missing_a_key_names_the_journal(tmp_path):
    EpisodeStore.create(tmp_path, "unit", frame_size=8)
    (tmp_path / JOURNAL_NAME).write_text(json.dumps({"add": {"name": "a", "split": "train"}}) + "\n")
    with pytest.raises(StoreError, match=r"journal.jsonl: malformed episode entry .*length"):
        EpisodeStore(tmp_path)


def test_a_store_written_before_the_journal_loads_and_grows(tmp_path):
    """Format version 1 as it was written before the journal: every episode in manifest.json."""
    (tmp_path / "episodes").mkdir()
    np.save(tmp_path / "episodes" / "old.frames.npy", frames(value=9))
    np.save(tmp_path / "episodes" / "old.actions.npy", np.array([1, 2], np.int16))
    manifest = {"format_version": 1, "source": "unit", "frame_size": 8, "fps": None, "num_actions": 3,
                "action_meanings": None, "extra": {}, "complete": True,
                "episodes": [{"name": "old", "length": 3, "split": "val", "has_actions": True, "meta": {"k": 1}}]}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest, indent=1))
    store = EpisodeStore.create(tmp_path, "unit", frame_size=8)
    assert store.complete and store.actions("old").tolist() == [1, 2] and store.episodes("val")[0].meta == {"k": 1}
    store.mark_incomplete()
    store.add_episode("new", frames())
    store.mark_complete()
    assert [e["name"] for e in json.loads((tmp_path / "manifest.json").read_text())["episodes"]] == ["old", "new"]


def test_killed_while_folding_the_journal_the_store_reads_the_same(tmp_path):
    """Killed after manifest.json is rewritten but before the journal is deleted: the journal is replayed over a
    manifest that already holds it, including removals of episodes whose files are gone."""
    store = EpisodeStore.create(tmp_path, "unit", frame_size=8)
    for name in ("a", "b", "c"):
        store.add_episode(name, frames())
    store.remove_episode("b")
    store.add_episode("a", frames(T=4))  # rewritten
    journal = (tmp_path / JOURNAL_NAME).read_bytes()
    store.mark_complete()
    (tmp_path / JOURNAL_NAME).write_bytes(journal)
    reopened = EpisodeStore(tmp_path)
    assert [(e.name, e.length) for e in reopened.episodes()] == [("a", 4), ("c", 3)] and reopened.complete


def test_an_interrupted_generation_continues_from_its_journal(tmp_path, monkeypatch):
    full = generate_synthetic(str(tmp_path / "full"), 8, {"train": 6, "val": 2}, 3, seed=5)
    add_episode, calls = EpisodeStore.add_episode, []

    def add_then_stop(self, *args, **kwargs):
        if len(calls) == 4:
            raise KeyboardInterrupt  # stopped after 4 episodes: journal only, the manifest lists none
        calls.append(args[0])
        return add_episode(self, *args, **kwargs)

    monkeypatch.setattr(EpisodeStore, "add_episode", add_then_stop)
    with pytest.raises(KeyboardInterrupt):
        generate_synthetic(str(tmp_path / "partial"), 8, {"train": 6, "val": 2}, 3, seed=5)
    monkeypatch.undo()
    assert len(EpisodeStore(tmp_path / "partial")) == 4 and not EpisodeStore(tmp_path / "partial").complete
    resumed = generate_synthetic(str(tmp_path / "partial"), 8, {"train": 6, "val": 2}, 3, seed=5)
    assert [e.name for e in resumed.episodes()] == [e.name for e in full.episodes()] and resumed.complete
    assert all(np.array_equal(resumed.frames(e.name), full.frames(e.name)) for e in full.episodes())


WRITER = textwrap.dedent("""
    import sys
    from genie.data.synthetic import generate_synthetic
    generate_synthetic(sys.argv[1], 8, {"train": 100_000}, 3, seed=11)  # never finishes: it is killed
""")


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_generation_killed_with_sigkill_loads_whole_episodes_and_continues(tmp_path):
    root = tmp_path / "store"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(root)], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not (root / JOURNAL_NAME).is_file() or (root / JOURNAL_NAME).stat().st_size < 2_000:  # ~20 episodes
        assert writer.poll() is None, writer.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "the writer recorded no episodes within 60 s"
        time.sleep(0.005)
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()

    killed = EpisodeStore(root)
    assert not killed.complete and len(killed) >= 10
    for info in killed.episodes():  # every listed episode whole; frames checked against their length
        assert killed.frames(info.name).shape == (3, 8, 8, 3) and killed.actions(info.name).shape == (2,)
    budget = {"train": len(killed) + 3}
    resumed = generate_synthetic(str(root), 8, budget, 3, seed=11)
    fresh = generate_synthetic(str(tmp_path / "fresh"), 8, budget, 3, seed=11)
    assert [e.name for e in resumed.episodes()] == [e.name for e in fresh.episodes()]
    assert all(np.array_equal(resumed.frames(e.name), fresh.frames(e.name)) for e in fresh.episodes())


def test_the_token_store_journals_its_episodes_and_replays_them_once(tmp_path):
    store = TokenStore.create(tmp_path, {"tokenizer": "t.ckpt"})
    for e in range(3):
        store.add_episode(f"ep{e}", "train", np.zeros((4, 2, 2), np.int16), np.zeros(3, np.int16), None)
    assert TokenStore(tmp_path).names() == {"ep0", "ep1", "ep2"} and not TokenStore(tmp_path).complete
    journal = (tmp_path / JOURNAL_NAME).read_bytes()
    store.mark_complete()
    (tmp_path / JOURNAL_NAME).write_bytes(journal)  # killed before the folded journal was deleted
    assert [e["name"] for e in TokenStore(tmp_path).episodes()] == ["ep0", "ep1", "ep2"]
    assert TokenStore.create(tmp_path, {"tokenizer": "other.ckpt"}).names() == set()  # other checkpoints: start over
