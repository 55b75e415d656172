"""`python dream.py mode=play` as a user runs it: a loopback server that says its URL, a terminal UI in a real
pseudo-terminal, or one clear error line."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # dream.py mode=play runs as a subprocess

ROOT = Path(__file__).resolve().parents[1]


def dream(*args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / "dream.py"), "mode=play", *args], cwd=cwd, text=True,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_play_serves_the_page_on_loopback_and_says_where(trained_run, tmp_path):
    server = dream(f"run={trained_run}", "play.port=0", cwd=tmp_path)
    try:
        for line in server.stdout:
            match = re.search(r"open (http://127\.0\.0\.1:\d+/)", line)
            if match:
                break
        else:
            raise AssertionError(f"no URL printed; stderr: {server.stderr.read()[-2000:]}")
        with urllib.request.urlopen(match.group(1) + "api/info", timeout=30) as response:
            info = json.load(response)
        assert info["run"] == trained_run.name and info["num_actions"] > 0
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_play_reports_bad_settings_in_one_line(trained_run, tmp_path):
    for args, message in [
        (["play.ui=gui"], "play.ui='gui'"),
        (["play.default_action=99"], "play.default_action=99"),
        (["ui=terminal"], "needs an interactive terminal"),
    ]:
        process = dream(f"run={trained_run}", *args, cwd=tmp_path)
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 2, stderr[-2000:]
        assert message in stderr and "Traceback" not in stderr


def test_play_in_a_terminal_reads_keys_from_the_tty_and_quits_on_q(trained_run, tmp_path):
    main, child = pty.openpty()
    process = subprocess.Popen([sys.executable, str(ROOT / "dream.py"), "mode=play", f"run={trained_run}",
                                "ui=terminal"], cwd=tmp_path, stdin=child, stdout=child, stderr=child)
    os.close(child)
    output = b""

    def read_until(marker: bytes, seconds: float) -> None:
        nonlocal output
        deadline = time.monotonic() + seconds
        while marker not in output and time.monotonic() < deadline:
            if select.select([main], [], [], 0.5)[0]:
                try:
                    output += os.read(main, 65536)
                except OSError:  # the child closed the terminal
                    return

    try:
        read_until(b"frames/s", 120)
        output = b""
        os.write(main, b"2")
        read_until(b"a=1  step", 10)
        os.write(main, b"q")
        assert process.wait(timeout=30) == 0
        read_until(b"\x1b[?25h", 5)
    finally:
        process.kill()
        os.close(main)
    assert b"a=1  step" in output and b"\xe2\x96\x80" in output  # key 2 took latent action 1; half-block pixels
    assert output.endswith(b"\x1b[?25h\r\n")  # the cursor is back
