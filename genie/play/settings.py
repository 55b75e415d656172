"""The ``play:`` section of ``configs/dream.yaml``, checked once, and the key map from keys to latent actions."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, fields, replace
from typing import Any

from genie.errors import UserError
from genie.play.session import check_action

# Keys the page and the terminal can map to latent actions, named as the browser's KeyboardEvent.code names them.
MAPPABLE_KEYS = ("ArrowRight", "ArrowLeft", "ArrowUp", "ArrowDown", "Space")
UIS = ("web", "terminal")
DEFAULT_FPS = 15.0  # steps per second where the store does not say its frame rate
TOP_LEVEL = ("split", "temperature", "seed", "device")  # read from the dream config's top level, not from play:


@dataclass
class PlaySettings:
    host: str = "127.0.0.1"
    port: int = 8765  # 0 picks a free port
    fps: float | None = None  # target steps (frames) per second of each session; None: the store's, the game's speed
    default_action: int = 0  # the latent action taken while no key is held
    keys: dict[str, int] | None = None  # e.g. {ArrowLeft: 3}; None: the non-default actions in order
    ui: str = "web"
    max_upload_mb: float = 16.0
    open_browser: bool = False
    record_frames: int = 1800  # the recording keeps the last this many frames (two minutes at 15 frames/s)
    preview_steps: int = 8  # frames in each action's preview
    scale: int = 6  # pixelated upscaling of the page's view and of downloaded recordings
    threads: int = 1  # torch CPU threads for the model
    max_sessions: int = 8  # tabs served at once
    # From the top level of the dream config:
    split: str = "test"
    temperature: float = 0.0
    seed: int = 0
    device: str = "auto"

    @classmethod
    def from_config(cls, settings: dict[str, Any]) -> "PlaySettings":
        """``settings``: the resolved dream config (a plain dict) with its ``play`` section."""
        section = dict(settings.get("play") or {})
        known = {f.name for f in fields(cls)} - set(TOP_LEVEL)
        unknown = sorted(set(section) - known)
        if unknown:
            raise UserError(f"play.{unknown[0]}: unknown setting (known: {', '.join(sorted(known))})")
        top = {k: settings[k] for k in TOP_LEVEL if k in settings}
        play = cls(**section, **top)
        play.check()
        return play

    def check(self) -> None:
        if self.ui not in UIS:
            raise UserError(f"play.ui={self.ui!r}: expected one of {', '.join(UIS)}")
        if not 0 <= int(self.port) <= 65535:
            raise UserError(f"play.port={self.port}: expected 0..65535 (0 picks a free port)")
        for key in ("fps", "max_upload_mb", "record_frames", "preview_steps", "scale", "threads", "max_sessions"):
            if key == "fps" and self.fps is None:
                continue
            if not getattr(self, key) > 0:
                raise UserError(f"play.{key}={getattr(self, key)}: must be positive")
        if self.keys is not None and not isinstance(self.keys, dict):
            raise UserError(f"play.keys={self.keys!r}: expected a mapping like {{ArrowLeft: 1, Space: 2}}")

    def at_game_speed(self, store_fps: float | None) -> "PlaySettings":
        """These settings with ``fps`` set: as given, else the store's frame rate (one dreamed step per recorded
        frame, the game's own speed), else ``DEFAULT_FPS``."""
        if self.fps is not None:
            return self
        return replace(self, fps=float(store_fps or DEFAULT_FPS))

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def is_loopback(self) -> bool:
        """Whether ``host`` is only reachable from this machine."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    def keymap(self, num_actions: int) -> dict[str, int]:
        """Key name -> latent action. By default the arrows and space take the non-default actions in order."""
        check_action(self.default_action, num_actions, "play.default_action")
        if self.keys is None:
            others = [a for a in range(num_actions) if a != self.default_action]
            return dict(zip(MAPPABLE_KEYS, others))
        keymap = {}
        for key, action in self.keys.items():
            if key not in MAPPABLE_KEYS:
                raise UserError(f"play.keys.{key}: unknown key (mappable: {', '.join(MAPPABLE_KEYS)})")
            keymap[key] = check_action(action, num_actions, f"play.keys.{key}")
        return keymap
