"""`python dream.py mode=play` as a user runs it: it says the URL of a loopback server, or one clear error line."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

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
        (["play.ui=terminal"], "needs an interactive terminal"),
    ]:
        process = dream(f"run={trained_run}", *args, cwd=tmp_path)
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 2, stderr[-2000:]
        assert message in stderr and "Traceback" not in stderr
