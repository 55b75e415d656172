"""Journal: the changes made to a store since its ``manifest.json`` was last rewritten, one JSON line each.

Rewriting a manifest of N episodes after every new episode makes writing N episodes cost O(N²). Appending one
fsynced line per episode to ``journal.jsonl`` costs the same at 10 or 10 000 episodes; the store folds the journal
into ``manifest.json`` (one atomic rewrite) when a generation finishes, and deletes it. Readers replay the journal
over the manifest in memory and never write, so any number of processes can open a store that is being written.

A line is written with one ``write`` and then fsynced. A process killed in the middle of that write leaves a last
line cut short: it is ignored with a warning (its episode is missing, so a re-run writes it again), and the next
append cuts it off first. Any earlier line that is not JSON is corruption, reported with the file and line number.
There is one writer per store.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from genie.errors import UserError

log = logging.getLogger(__name__)

JOURNAL_NAME = "journal.jsonl"


class JournalError(UserError, ValueError):
    """A journal line other than the last is not a JSON object. The message names the file and line."""


class Journal:
    def __init__(self, path: Path):
        self.path = path
        self._whole_bytes: int | None = None  # where the last whole line ends, when a torn line follows it

    def read(self) -> list[dict[str, Any]]:
        """The entries in the order they were appended; [] when there is no journal."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        *lines, tail = data.split(b"\n")  # every whole line ends with "\n": tail is b"" unless a write was cut
        entries = [parse_entry(line) for line in lines]
        for number, entry in enumerate(entries, start=1):
            if entry is None and (number < len(lines) or tail):
                raise JournalError(f"{self.path}: line {number} is not a JSON object ({lines[number - 1][:60]!r})")
        if entries and entries[-1] is None:  # the last line, whole in length but not in content
            tail = lines.pop() + b"\n" + tail
            entries.pop()
        if tail:
            log.warning("%s: ignoring its last line, cut short by an interrupted write (%d bytes)",
                        self.path, len(tail))
            self._whole_bytes = len(data) - len(tail)
        return entries

    def append(self, entry: dict[str, Any]) -> None:
        """Add one entry durably: it is on disk when this returns."""
        line = (json.dumps(entry, separators=(",", ":")) + "\n").encode()
        if self._whole_bytes is not None:  # cut off the torn line left by an interrupted writer
            os.truncate(self.path, self._whole_bytes)
            self._whole_bytes = None
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            written = 0
            while written < len(line):
                written += os.write(fd, line[written:])
            os.fsync(fd)
        finally:
            os.close(fd)

    def delete(self) -> None:
        """Drop the journal once the manifest holds everything in it."""
        self.path.unlink(missing_ok=True)
        self._whole_bytes = None


def parse_entry(line: bytes) -> dict[str, Any] | None:
    """The JSON object on ``line``, or None when it is anything else."""
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    return entry if isinstance(entry, dict) else None
