"""The terminal fallback (``python dream.py mode=play ui=terminal``): the world drawn with ANSI true-colour
half blocks (one character = two pixels stacked), keys read from the raw TTY.

Keys: 1..K pick latent action 0..K-1, the arrows and space act through the key map, r restarts from a random
held-out frame, q quits. A terminal reports key presses but not releases, so an action is held for
``HOLD_SECONDS`` after its last press; the keyboard's auto-repeat keeps renewing it while the key is down.
"""

from __future__ import annotations

import os
import select
import sys
import termios
import time
import tty
from typing import Protocol, TextIO

import numpy as np

from genie.data.store import EpisodeStore
from genie.errors import UserError
from genie.play.rate import Rate
from genie.play.session import GameKeys, PlaySession
from genie.play.settings import PlaySettings
from genie.play.starts import any_start
from genie.world import WorldModel

HOLD_SECONDS = 0.5
ESCAPES = {b"\x1b[A": "ArrowUp", b"\x1b[B": "ArrowDown", b"\x1b[C": "ArrowRight", b"\x1b[D": "ArrowLeft"}
NAMES = {" ": "Space"}


class KeySource(Protocol):
    def __enter__(self) -> "KeySource": ...

    def __exit__(self, *exc: object) -> None: ...

    def read(self) -> list[str]:
        """The keys pressed since the last call (without waiting)."""


def parse_keys(data: bytes) -> list[str]:
    """Raw TTY bytes -> key names: "1".."9", "ArrowUp" / "ArrowDown" / "ArrowLeft" / "ArrowRight", "Space", or the
    character itself ("r", "q"); unknown escape sequences are dropped."""
    keys, i = [], 0
    while i < len(data):
        escape = next((e for e in ESCAPES if data.startswith(e, i)), None)
        if escape is not None:
            keys.append(ESCAPES[escape])
            i += len(escape)
        elif data[i] == 0x1B:  # another escape sequence (ESC [ or ESC O, parameters, one final byte): skip it
            i += 2 if data[i + 1 : i + 2] in (b"[", b"O") else 1
            while i < len(data) and 0x20 <= data[i] <= 0x3F:
                i += 1
            i += 1
        else:
            char = chr(data[i])
            keys.append(NAMES.get(char, char))
            i += 1
    return keys


class TTYKeys:
    """Keys from a terminal in cbreak mode (no echo, no line buffering); the mode is restored on exit."""

    def __init__(self, stream: TextIO):
        if not stream.isatty():
            raise UserError("ui=terminal needs an interactive terminal (stdin is not a TTY); use ui=web")
        self.fd = stream.fileno()
        self.saved: list | None = None

    def __enter__(self) -> "TTYKeys":
        self.saved = termios.tcgetattr(self.fd)
        tty.setcbreak(self.fd)
        return self

    def __exit__(self, *exc: object) -> None:
        termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)

    def read(self) -> list[str]:
        data = b""
        while select.select([self.fd], [], [], 0)[0]:
            chunk = os.read(self.fd, 64)
            if not chunk:
                break
            data += chunk
        return parse_keys(data)


def render(frame_HWC: np.ndarray) -> str:
    """uint8 [H, W, 3] (H even) -> H/2 lines of W characters: '▀' with the top pixel as foreground colour and the
    bottom pixel as background colour."""
    lines = []
    for top, bottom in zip(frame_HWC[0::2], frame_HWC[1::2]):
        cells = [f"\x1b[38;2;{t[0]};{t[1]};{t[2]}m\x1b[48;2;{b[0]};{b[1]};{b[2]}m▀" for t, b in zip(top, bottom)]
        lines.append("".join(cells) + "\x1b[0m")
    return "\n".join(lines)


def key_action(key: str, keymap: dict[str, int], num_actions: int) -> int | None:
    """The latent action a key picks: digits 1..K -> 0..K-1, mapped keys through ``keymap``; otherwise None."""
    if key.isdigit() and 1 <= int(key) <= num_actions:
        return int(key) - 1
    return keymap.get(key)


def run_terminal(world: WorldModel, store: EpisodeStore | None, cfg: PlaySettings, keymap: dict[str, int],
                 keys: KeySource | None = None, out: TextIO | None = None, max_steps: int | None = None,
                 game_keys: GameKeys | None = None) -> PlaySession:
    """Play in the terminal until q (or ``max_steps``); returns the session (its actions, its recording)."""
    keys = TTYKeys(sys.stdin) if keys is None else keys
    out = sys.stdout if out is None else out
    cfg = cfg.at_game_speed(store.fps if store is not None else None)
    rng = np.random.default_rng(cfg.seed)
    session = PlaySession(world, cfg.default_action, cfg.temperature, cfg.seed, cfg.record_frames,
                          game_keys=game_keys)
    session.reset(any_start(store, cfg.split, world.window, world.frame_size, rng)[0])
    frame_rate, period, held_until = Rate(), 1.0 / cfg.fps, 0.0
    help_line = f"keys 1..{world.num_actions}: a=0..{world.num_actions - 1}  " + "  ".join(
        f"{k}: a={a}" for k, a in keymap.items())
    out.write("\x1b[2J\x1b[?25l")  # clear the screen, hide the cursor
    try:
        with keys:
            while max_steps is None or session.steps < max_steps:
                due = time.perf_counter() + period
                for key in keys.read():
                    if key == "q":
                        return session
                    if key == "r":
                        session.reset(any_start(store, cfg.split, world.window, world.frame_size, rng)[0])
                    action = key_action(key, keymap, world.num_actions)
                    if action is not None:
                        session.hold(action)
                        held_until = time.perf_counter() + HOLD_SECONDS
                if session.held_action is not None and time.perf_counter() > held_until:
                    session.hold(None)
                step = session.step()
                frame_rate.tick()
                history = " ".join(str(a) for a in list(session.actions)[-32:])
                out.write(f"\x1b[H{render(step.frame)}\n\x1b[K{frame_rate.per_second:5.1f} frames/s  "
                          f"model {session.model_rate.per_second:6.1f} steps/s  a={step.action}  "
                          f"step {step.index}\n\x1b[Kactions: {history}\n\x1b[K{help_line}  r: restart  q: quit\n")
                out.flush()
                time.sleep(max(0.0, due - time.perf_counter()))
    finally:
        out.write("\x1b[0m\x1b[?25h\n")
        out.flush()
    return session
