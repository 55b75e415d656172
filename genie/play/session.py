"""PlaySession: one player's world. It owns its token history, so two tabs (or a tab and a test) never share state.

All methods that touch the model (``reset``, ``step``, ``previews``) are meant to run on one thread at a time; the
server runs them on its single model thread. ``hold`` only swaps an attribute and is safe from any thread.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

import numpy as np
import torch

from genie.controls.key_controls import KeyControls
from genie.controls.previews import action_rollouts
from genie.errors import UserError
from genie.nn.pixels import to_uint8
from genie.play.rate import Rate
from genie.world import WorldModel

START = -1  # the "action" recorded beside a start frame


def check_action(action: object, num_actions: int, where: str = "action") -> int:
    """``action`` if it is an int in [0, num_actions), else a UserError naming ``where`` and the allowed range."""
    if isinstance(action, bool) or not isinstance(action, int) or not 0 <= action < num_actions:
        raise UserError(f"{where}={action!r}: unknown latent action (this world has 0..{num_actions - 1})")
    return action


class GameKeys:
    """The game's keys through the key controller: the latent codes the keys send (and the default action), each
    standing for an effect in the controls' key map, become the code the controller picks for that effect from the
    current history (genie/controls/key_controls.py)."""

    def __init__(self, controls: KeyControls):
        self.controls = controls
        self.effect_of_code = controls.key_map.effect_of_code()  # {code a key sends: its effect index}

    def action_here(self, tokens_Thw: torch.Tensor, code: int, held: int) -> int:
        """The latent action the key sending ``code`` means here, held for ``held`` frames (1: pressed now)."""
        effect = torch.tensor([self.effect_of_code[code]])
        return int(self.controls.choose(tokens_Thw[None], effect, torch.tensor([held]))[0])


@dataclass
class Step:
    frame: np.ndarray  # uint8 [H, W, 3], the dreamed frame
    action: int  # the latent action that produced it (with game keys: the one the key controller chose)
    index: int  # steps since the session began (across resets)


class PlaySession:
    """A world state that advances one frame per ``step`` under the held latent action (or the default one)."""

    def __init__(self, world: WorldModel, default_action: int = 0, temperature: float = 0.0, seed: int = 0,
                 record_frames: int = 1800, history_length: int = 64, game_keys: GameKeys | None = None):
        self.world = world
        self.game_keys = game_keys
        self.default_action = check_action(default_action, world.num_actions, "default_action")
        self.held_action: int | None = None
        self.last_pressed: int | None = None  # the action asked for at the previous step (before the key controller)
        self.pressed_for = 0  # steps in a row it has been asked for
        self.temperature = temperature
        self.generator = torch.Generator(device=world.device).manual_seed(seed) if temperature > 0 else None
        self.tokens_Thw: torch.Tensor | None = None  # int64 [<= window, h, w], the newest frame last
        self.frame: np.ndarray | None = None  # uint8 [H, W, 3], what the player sees now
        self.steps = 0
        self.actions: deque[int] = deque(maxlen=history_length)  # the latest actions taken, oldest first
        # the actions dreamed since the last start, as many as the dynamics reads (the current one excluded)
        self.since_reset: deque[int] = deque(maxlen=max(world.action_history - 1, 0))
        self.recording: deque[tuple[np.ndarray, int]] = deque(maxlen=record_frames)  # (frame, action or START)
        self.model_rate = Rate()  # model steps per second: dynamics + decoding of one frame, batch 1

    # ------------------------------------------------------------------ actions
    def hold(self, action: int | None) -> None:
        """Act with ``action`` from the next step on; ``None`` releases it (the default action is taken)."""
        self.held_action = None if action is None else check_action(action, self.world.num_actions)

    # ------------------------------------------------------------------ world
    @torch.no_grad()
    def reset(self, context_THWC: np.ndarray) -> np.ndarray:
        """Start from real frames: uint8 [T, H, W, 3], T >= 1, the newest last (at most ``window`` are used).
        Returns the start frame as the model sees it (the tokenizer's reconstruction), uint8 [H, W, 3]."""
        H = self.world.frame_size
        if context_THWC.ndim != 4 or context_THWC.shape[1:] != (H, H, 3) or context_THWC.dtype != np.uint8:
            raise UserError(f"start frames must be uint8 [T, {H}, {H}, 3], got {context_THWC.dtype} "
                            f"{list(context_THWC.shape)}")
        frames = torch.from_numpy(np.ascontiguousarray(context_THWC[-self.world.window :]))
        self.tokens_Thw = self.world.encode(frames[None])[0]
        self.last_pressed, self.pressed_for = None, 0  # a new start: no key has been held yet
        self.since_reset.clear()
        self.frame = to_uint8(self.world.decode(self.tokens_Thw[None, -1:]))[0, 0].cpu().numpy()
        self.recording.append((self.frame, START))
        return self.frame

    @torch.no_grad()
    def step(self) -> Step:
        """Dream the next frame under the held action (or the default one) and make it the current frame."""
        if self.tokens_Thw is None:
            raise UserError("the session has no start frame yet: reset it first")
        action = self.default_action if self.held_action is None else self.held_action
        self.pressed_for = self.pressed_for + 1 if action == self.last_pressed else 1
        self.last_pressed = action
        start = time.perf_counter()
        if self.game_keys is not None and action in self.game_keys.effect_of_code:
            action = self.game_keys.action_here(self.tokens_Thw, action, self.pressed_for)
        recent = list(self.since_reset)[len(self.since_reset) + 1 - self.world.action_history :]
        next_hw = self.world.step(self.tokens_Thw[None], torch.tensor([recent + [action]]), self.temperature,
                                  self.generator)[0]
        self.frame = to_uint8(self.world.decode(next_hw[None, None]))[0, 0].cpu().numpy()
        self.model_rate.observe(time.perf_counter() - start)
        self.tokens_Thw = torch.cat([self.tokens_Thw, next_hw[None]])[-self.world.window :]
        self.steps += 1
        self.actions.append(action)
        self.since_reset.append(action)
        self.recording.append((self.frame, action))
        return Step(self.frame, action, self.steps)

    @torch.no_grad()
    def previews(self, steps: int) -> np.ndarray:
        """What each latent action does from here (the action grid's cells): uint8 [K, steps + 1, H, W, 3]; row k
        starts at the current frame and holds action k for ``steps`` frames. The session's state is left as it was."""
        if self.tokens_Thw is None:
            raise UserError("the session has no start frame yet: reset it first")
        return action_rollouts(self.world, self.tokens_Thw, steps, self.temperature, seed=self.steps)
