"""Key response: does the dream move the way the real game does when a person presses the same keys?

On held-out CoinRun levels a person-like key sequence (LEFT / RIGHT / JUMP / NOTHING, each held a few frames) is
played twice from the same real frames: in procgen, and in the dream. The dream reads the last ``window`` real frames
as its context and turns each key into an action the way play does: a world conditioned on the game's true actions
takes the key's effect as it is; a latent world asks its key controller (genie/controls/key_controls.py). Two kinds of
start: after the player has walked ``walk_in`` steps into the level (``walk``), and the level's first frames, where
the camera is held at the left wall (``start``).

What is compared (``<start>`` is walk or start):

* ``key_response/<start>/x_error``: |real - dreamed| sideways camera position after ``steps`` steps, in pixels
  (camera moves measured by ``camera_shift`` on the frames), beside how far the real and the dreamed camera went
  (``real_travel``, ``dream_travel``);
* ``same_way``: over stretches of ``span`` steps where the real camera moved at least ``min_move`` pixels sideways,
  the share where the dream moved at least 1 pixel the same way (``moves``: how many such stretches);
* ``path_r``: the correlation of real and dreamed sideways moves over those stretches (all of them);
* ``psnr_keys`` / ``psnr_shuffled`` / ``psnr_still``: PSNR (of the mean MSE) against the real frame ``psnr_step``
  steps in, of the dream under the true keys, under another sequence's keys, and of the last real frame held still;
  ``key_gain`` = keys - shuffled;
* ``inferred``: the same path comparison with the dream driven by the codes the LAM infers from the real frames (a
  latent world only): how much the latent actions carry when no key controller is in the way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np
import torch

from genie.controls.key_controls import KeyControls
from genie.data.coinrun import ACTION_MEANINGS, EFFECT_NAMES, LEVEL_OFFSETS, make_env, step_skipping
from genie.eval.long_play import dream_at
from genie.eval.metrics import psnr_of_mean_mse as psnr
from genie.nn.camera import MOVE_PER_GAME_FRAME, camera_shift, search_radius
from genie.nn.pixels import to_model, to_uint8
from genie.world import WorldModel

log = logging.getLogger(__name__)

# the button a person presses for each effect (CoinRun's effect order, EFFECT_NAMES)
KEY_BUTTONS = [ACTION_MEANINGS.index(b) for b in ("LEFT", "RIGHT", "UP", "NOOP")]
WALK_IN_BUTTONS = [ACTION_MEANINGS.index(b) for b in ("RIGHT", "RIGHT+UP")]


@dataclass
class KeyResponseSettings:
    """Durations are in game frames (15 a second), so worlds that dream several game frames a step (a store
    recorded with ``frameskip`` k) are compared over the same stretch of play (``in_steps``)."""

    levels: int = 48  # held-out levels played (0: skip)
    steps: int = 32  # keys played after the context
    walk_in: int = 24  # stored frames the player first walks right into the level (the ``walk`` start)
    hold_min: int = 4  # frames each key is held: uniform in [hold_min, hold_max]
    hold_max: int = 12
    span: int = 8  # moves are compared over stretches of this many steps
    min_move: float = 2.0  # pixels sideways over a stretch that make it a real move
    psnr_step: int = 16
    seed: int = 0

    def in_steps(self, frameskip: int) -> "KeyResponseSettings":
        """The same settings in dreamed steps of ``frameskip`` game frames each."""
        def steps(frames: int) -> int:
            return max(1, round(frames / frameskip))

        hold_min = steps(self.hold_min)
        return replace(self, steps=steps(self.steps), walk_in=round(self.walk_in / frameskip), hold_min=hold_min,
                       hold_max=max(hold_min, steps(self.hold_max)), span=steps(self.span),
                       psnr_step=steps(self.psnr_step))


@dataclass
class GamePlay:
    """What the real game showed: frames uint8 [N, window + steps, H, W, 3] (the context first) under keys
    int64 [N, steps] (effect ids), for the N levels whose episode lasted through the sequence."""

    frames: np.ndarray
    keys: np.ndarray


def person_like_keys(count: int, steps: int, hold_min: int, hold_max: int, rng: np.random.Generator) -> np.ndarray:
    """Keys as a person holds them: a uniformly drawn effect held for hold_min..hold_max frames, then another.
    int64 [count, steps]."""
    keys = np.empty((count, steps), np.int64)
    for i in range(count):
        t = 0
        while t < steps:
            held = int(rng.integers(hold_min, hold_max + 1))
            keys[i, t : t + held] = rng.integers(0, len(EFFECT_NAMES))
            t += held
    return keys


def play_in_game(settings: KeyResponseSettings, window: int, walk_in: int, frameskip: int = 1,
                 distribution_mode: str = "easy", levels_in_split: int = 100, backgrounds: bool = True) -> GamePlay:
    """Play person-like keys in procgen on held-out (test split) levels, after ``walk_in`` frames of walking right
    (jumping now and then). Twice ``levels`` are played and the first ``levels`` whose episode lasts through the
    sequence are kept (held keys walk into saws and pits about half the time)."""
    rng = np.random.default_rng(settings.seed + 1000 * walk_in)
    N, S = 2 * settings.levels, settings.steps
    env = make_env(N, LEVEL_OFFSETS["test"], levels_in_split, distribution_mode, settings.seed, backgrounds=backgrounds)
    keys = person_like_keys(N, S, settings.hold_min, settings.hold_max, rng)
    _, obs, _ = env.observe()
    frames, ended = [obs["rgb"].copy()], np.zeros(N, bool)
    walk = rng.choice(WALK_IN_BUTTONS, size=(N, max(walk_in, 0)), p=[0.75, 0.25])
    pre = max(walk_in, window - 1)
    for t in range(pre + S):
        if t < pre:
            act = walk[:, t] if t < walk_in else np.full(N, KEY_BUTTONS[3])
        else:
            act = np.asarray(KEY_BUTTONS)[keys[:, t - pre]]
        obs, first = step_skipping(env, act, frameskip)
        ended |= first
        frames.append(obs["rgb"].copy())
    del env
    frames_NTHWC = np.stack(frames, 1)[:, pre + 1 - window :]
    kept = np.flatnonzero(~ended)[: settings.levels]
    return GamePlay(frames_NTHWC[kept], keys[kept])


def sideways_moves(frames_NTCHW: torch.Tensor, radius: int = MOVE_PER_GAME_FRAME) -> torch.Tensor:
    """The camera's sideways move at every step, float [N, T - 1] in pixels (right positive), up to ``radius``."""
    return torch.stack([camera_shift(frames_NTCHW[:, t], frames_NTCHW[:, t + 1], radius)[:, 0]
                        for t in range(frames_NTCHW.shape[1] - 1)], 1)


def compare_paths(real_NS: torch.Tensor, dream_NS: torch.Tensor, span: int, min_move: float) -> dict[str, float]:
    """Real against dreamed sideways moves per step, float [N, S] each -> x error, travel, same-way share, r."""
    S = real_NS.shape[1] - real_NS.shape[1] % span
    real_w = real_NS[:, :S].reshape(len(real_NS), -1, span).sum(-1).flatten()
    dream_w = dream_NS[:, :S].reshape(len(dream_NS), -1, span).sum(-1).flatten()
    moved = real_w.abs() >= min_move
    same = (torch.sign(dream_w) == torch.sign(real_w)) & (dream_w.abs() >= 1)
    both = torch.stack([real_w, dream_w])
    r = float(torch.corrcoef(both)[0, 1]) if both.std(1).min() > 0 else 0.0
    return {
        "x_error": float((real_NS.sum(1) - dream_NS.sum(1)).abs().mean()),
        "real_travel": float(real_NS.sum(1).abs().mean()),
        "dream_travel": float(dream_NS.sum(1).abs().mean()),
        "same_way": float(same[moved].float().mean()) if bool(moved.any()) else float("nan"),
        "moves": float(moved.sum()),
        "path_r": r,
    }


@torch.no_grad()
def dream_keys(world: WorldModel, context_NThw: torch.Tensor, keys_NS: torch.Tensor,
               controls: KeyControls | None) -> torch.Tensor:
    """Dreamed tokens int64 [N, S, h, w] under the keys (effect ids): taken as they are by a world conditioned on
    true actions, through the key controller by a latent one."""
    steps = tuple(range(1, keys_NS.shape[1] + 1))
    kept = dream_at(world, context_NThw, keys_NS, steps, controls=None if world.effect_names else controls)
    return torch.stack([kept[s] for s in steps], 1)


def decode_all(world: WorldModel, tokens_NThw: torch.Tensor) -> torch.Tensor:
    """tokens int [N, T, h, w] -> frames float [N, T, 3, H, W] in [0, 1] on the CPU."""
    return torch.cat([world.decode(tokens_NThw[i : i + 16]).float().cpu() for i in range(0, len(tokens_NThw), 16)])


@torch.no_grad()
def score_start(world: WorldModel, game: GamePlay, controls: KeyControls | None, settings: KeyResponseSettings,
                radius: int = MOVE_PER_GAME_FRAME) -> tuple[dict[str, float], np.ndarray]:
    """The metrics of one kind of start (``settings`` in dreamed steps), and a strip picture (real above, dream
    below) of its first level. Camera moves are looked for up to ``radius`` pixels a step."""
    W = world.window
    real_NTCHW = to_model(torch.from_numpy(game.frames))  # [N, W + S, 3, H, W]
    context = world.encode(torch.from_numpy(game.frames[:, :W])).cpu()
    keys = torch.from_numpy(game.keys)
    shuffled = keys.roll(1, dims=0)
    start_NCHW = decode_all(world, context[:, -1:])[:, 0]  # the model's own picture of the last real frame
    dreams = {"keys": dream_keys(world, context, keys, controls), "shuffled": dream_keys(world, context, shuffled, controls)}
    frames = {name: torch.cat([start_NCHW[:, None], decode_all(world, d)], 1) for name, d in dreams.items()}
    real_moves = sideways_moves(real_NTCHW[:, W - 1 :], radius)
    metrics = compare_paths(real_moves, sideways_moves(frames["keys"], radius), settings.span, settings.min_move)
    t = settings.psnr_step
    target = real_NTCHW[:, W - 1 + t]
    metrics |= {"psnr_keys": psnr(frames["keys"][:, t], target), "psnr_shuffled": psnr(frames["shuffled"][:, t], target),
                "psnr_still": psnr(real_NTCHW[:, W - 1], target)}
    metrics["key_gain"] = metrics["psnr_keys"] - metrics["psnr_shuffled"]
    metrics["levels"] = float(len(keys))
    if world.effect_names is None:  # a latent world: its own LAM's codes, no key controller
        inferred = world.infer_actions(torch.from_numpy(game.frames))[:, W - 1 :]
        tokens = world.rollout(context, inferred)[:, W:]
        moved = sideways_moves(torch.cat([start_NCHW[:, None], decode_all(world, tokens)], 1), radius)
        metrics |= {f"inferred_{k}": v for k, v in compare_paths(real_moves, moved, settings.span,
                                                                  settings.min_move).items()}
    strip = np.concatenate([_row(real_NTCHW[0, W - 1 :]), _row(frames["keys"][0])], axis=0)
    return metrics, strip


def _row(frames_TCHW: torch.Tensor, every: int = 4) -> np.ndarray:
    return np.concatenate(list(to_uint8(frames_TCHW[::every]).numpy()), axis=1)


def key_response(world: WorldModel, controls: KeyControls | None, settings: KeyResponseSettings,
                 frameskip: int = 1, distribution_mode: str = "easy", levels_in_split: int = 100,
                 backgrounds: bool = True) -> tuple[dict[str, float], np.ndarray]:
    """``key_response/<start>/<metric>`` for both kinds of start, and a strip picture (real | dream rows, the walk
    start, then the level start). The game is played as the store was recorded (``distribution_mode``,
    ``backgrounds``)."""
    if world.effect_names is None and controls is None:
        raise ValueError("key response needs a world conditioned on true actions, or the run's key controls")
    metrics, strips = {}, []
    steps = settings.in_steps(frameskip)
    for start, walk_in in (("walk", steps.walk_in), ("start", 0)):
        game = play_in_game(steps, world.window, walk_in, frameskip, distribution_mode, levels_in_split, backgrounds)
        log.info("key response (%s): %d levels played in the game, now in the dream", start, len(game.keys))
        scored, strip = score_start(world, game, controls, steps, radius=search_radius(frameskip))
        metrics |= {f"key_response/{start}/{k}": v for k, v in scored.items()}
        strips.append(strip)
    return metrics, np.concatenate(strips, axis=0)
