"""Long play: what a player sees after seconds of holding keys, not one step ahead (DESIGN §6).

From ``starts`` held-out windows of real frames the world dreams ``steps`` frames under

* each latent action held for the whole rollout (``held``), and
* a human-like policy (``human``): a random latent action held for ``hold`` frames, then another,
  ``human_sequences`` different sequences per start, and
* for a latent world, the latent actions of real play (``replayed``): the codes the LAM infers from the split's
  recorded episodes, one stretch of ``steps`` per start, so a code lasts as long and is followed by what it is in
  the data (on CoinRun the moving codes last 1-2 steps there; the human-like policy holds each for ``hold``), and
* where the run has key controls (genie/controls/key_controls.py), a human-like player of the game's keys (``keys``):
  a random key (CoinRun: LEFT, RIGHT, JUMP or NOTHING) held for ``hold`` frames, each frame's latent action chosen
  by the key controller from the dreamed history, as play does.

At each horizon (16, 64, 256 by default) the dreamed frames are scored by

* realism: a classifier two-sample test against the tokenizer's reconstructions of real held-out frames
  (genie/eval/realism.py; 0.5 = indistinguishable), beside the same test between two halves of the real frames;
* for CoinRun, the rate at which the player is in the centre of the view, where the camera keeps it
  (genie/eval/player_view.py), with the detector's accuracy on real frames;
* frozen worlds: the share of human-like and key rollouts whose frame did not change over the ``frozen_span``
  steps before the horizon, although the policy changed its action every ``hold`` frames;

and, from held-out states where the world stands still, how far each latent action held for ``walk_steps`` frames
carries the camera, against the real game after those rests (genie/eval/scene_motion.py).

Only the frames at the horizons are decoded, so the cost is the dynamics' steps.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import torch

from genie.controls.key_controls import KeyControls
from genie.controls.transitions import hold_counts
from genie.data.store import EpisodeStore
from genie.drawing import label, upscale
from genie.eval.held_out import held_out_starts
from genie.eval.player_view import fit_player_detector, reconstruct, sample_frames
from genie.eval.realism import real_against_real, two_sample_score
from genie.eval.scene_motion import frozen_rate, walk_from_rest
from genie.nn.pixels import to_uint8
from genie.world import WorldModel, pad_history

log = logging.getLogger(__name__)

@dataclass
class LongPlaySettings:
    starts: int = 32  # held-out start windows (0: skip long play)
    steps: int = 256  # dreamed frames per rollout
    horizons: tuple[int, ...] = (16, 64, 256)
    human_sequences: int = 4  # human-like action sequences per start
    hold: int = 8  # frames each human-like action is held
    real_frames: int = 512  # real held-out frames (reconstructed) the realism classifier compares against
    classifier_steps: int = 300  # optimiser steps of each realism classifier (0: no realism test)
    batch_size: int = 32  # rollouts dreamed at once (32: the fastest per frame on a 2-core CPU)
    gif_scale: int = 2
    frozen_span: int = 16  # a rollout is frozen at a horizon when its frame is the one of this many steps before
    walk_steps: int = 24  # frames each latent action is held from rest to measure how far it moves (0: skip)


@dataclass
class LongPlay:
    metrics: dict[str, float]
    video: np.ndarray  # uint8 [steps + 1, H', W', 3]: one human-like rollout, step and action on every frame


def human_like_actions(rollouts: int, steps: int, num_actions: int, hold: int, seed: int) -> torch.Tensor:
    """A random latent action held for ``hold`` frames, then another: int64 [rollouts, steps]."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, num_actions, size=(rollouts, -(-steps // hold)))
    return torch.from_numpy(np.repeat(draws, hold, axis=1)[:, :steps])


@torch.no_grad()
def replayed_actions(world: WorldModel, store: EpisodeStore, split: str, rollouts: int, steps: int) -> torch.Tensor:
    """The latent actions the LAM infers from the split's recorded play, episode after episode, cut into
    ``rollouts`` stretches of ``steps``: int64 [rollouts, steps]. Where the split holds less play, it is repeated."""
    needed, codes, found = rollouts * steps, [], 0
    for episode in store.episodes(split):
        frames = np.array(store.frames(episode.name))  # a copy: a store's frames are mapped read-only
        if len(frames) > world.window:
            codes.append(world.infer_actions(torch.from_numpy(frames)[None])[0].cpu())
            found += len(codes[-1])
        if found >= needed:
            break
    if not codes:
        raise ValueError(f"long play: the {split} split holds no episode longer than {world.window} frames")
    stream = torch.cat(codes)
    return stream.repeat(-(-needed // len(stream)))[:needed].reshape(rollouts, steps)


@torch.no_grad()
def dream_at(world: WorldModel, context_RThw: torch.Tensor, actions_RS: torch.Tensor, keep: tuple[int, ...],
             temperature: float = 0.0, seed: int = 0, batch_size: int = 128,
             controls: KeyControls | None = None) -> dict[int, torch.Tensor]:
    """Roll every context forward under its actions; returns the tokens after ``s`` steps for each ``s`` in
    ``keep``: {s: int64 [R, h, w]}. Only the last ``window`` frames are kept while dreaming. With ``controls``,
    ``actions_RS`` are keys (effects), turned into latent actions by the key controller at every step.

    At temperature 0 a rollout that reached a fixed point is not stepped: where the last step read ``window``
    copies of one frame and returned that frame again, the same action returns it forever. Held actions spend
    most of their 256 steps there (about 80 % of frame-steps on CoinRun), so skipping them is exact and cheap."""
    generator = torch.Generator(device=world.device).manual_seed(seed)
    kept: dict[int, list[torch.Tensor]] = {s: [] for s in keep}
    held_RS = torch.from_numpy(hold_counts(actions_RS.numpy())) if controls is not None else None
    for lo in range(0, len(context_RThw), batch_size):
        history = pad_history(context_RThw[lo : lo + batch_size, -world.window :], world.window).to(world.device)
        fixed_B = torch.zeros(len(history), dtype=torch.bool, device=world.device)
        taken_BA = torch.zeros(len(history), 0, dtype=torch.long, device=world.device)  # recent actions, oldest first
        for s in range(1, actions_RS.shape[1] + 1):
            action_B = actions_RS[lo : lo + batch_size, s - 1].to(world.device)
            if controls is not None:
                action_B = controls.choose(history, action_B, held_RS[lo : lo + batch_size, s - 1]).to(world.device)
            read_BA = torch.cat([taken_BA, action_B[:, None]], dim=1)[:, -world.action_history :]
            # a fixed point stays fixed while the actions the step reads stay the same
            same = read_BA.shape == taken_BA.shape and taken_BA.shape[1] > 0
            moving = ~(fixed_B & (read_BA == taken_BA).all(1)) if same else torch.ones_like(fixed_B)
            taken_BA = read_BA
            if temperature > 0 or bool(moving.all()):
                nxt = world.step(history, taken_BA, temperature, generator)
            else:
                nxt = history[:, -1].clone()
                if bool(moving.any()):
                    nxt[moving] = world.step(history[moving], taken_BA[moving], temperature, generator)
            if temperature <= 0:
                fixed_B = (history == nxt[:, None]).flatten(1).all(1)
            history = torch.cat([history[:, 1:], nxt[:, None]], dim=1)
            if s in kept:
                kept[s].append(nxt.cpu())
    return {s: torch.cat(v) for s, v in kept.items()}


def decode_frames(world: WorldModel, tokens_Rhw: torch.Tensor, batch: int = 256) -> torch.Tensor:
    """tokens int [R, h, w] -> float [R, 3, H, W] in [0, 1] on the CPU."""
    return torch.cat([world.decode(tokens_Rhw[i : i + batch, None])[:, 0].float().cpu()
                      for i in range(0, len(tokens_Rhw), batch)])


def long_play_video(world: WorldModel, context_Thw: torch.Tensor, actions_S: torch.Tensor, temperature: float,
                    seed: int, scale: int) -> np.ndarray:
    """One rollout, every frame decoded and labelled with its step and the action that made it."""
    tokens = world.rollout(context_Thw[None], actions_S[None], temperature, seed)[0, context_Thw.shape[0] - 1 :]
    frames = upscale(to_uint8(decode_frames(world, tokens)).numpy(), scale)
    tags = ["start"] + [f"t={s + 1} a={int(a)}" for s, a in enumerate(actions_S)]
    return np.stack([label(f, tag) for f, tag in zip(frames, tags)])


@torch.no_grad()
def long_play(world: WorldModel, store: EpisodeStore, split: str, settings: LongPlaySettings,
              temperature: float = 0.0, seed: int = 0, controls: KeyControls | None = None) -> LongPlay:
    horizons = tuple(h for h in settings.horizons if h <= settings.steps)
    K, N = world.num_actions, settings.starts
    starts = held_out_starts(store, split, world.window, N)
    N = len(starts)
    context_NThw = world.encode(starts).cpu()
    held = torch.arange(K).repeat_interleave(settings.steps).reshape(K, settings.steps)
    human = human_like_actions(N * settings.human_sequences, settings.steps, K, settings.hold, seed)
    policies = {
        "held": (context_NThw.repeat(K, 1, 1, 1), held.repeat_interleave(N, 0), torch.arange(N).repeat(K)),
        "human": (context_NThw.repeat_interleave(settings.human_sequences, 0), human,
                  torch.arange(N).repeat_interleave(settings.human_sequences)),
    }
    if world.effect_names is None:  # a latent world: its LAM's codes of real play
        policies["replayed"] = (context_NThw, replayed_actions(world, store, split, N, settings.steps), torch.arange(N))
    if controls is not None:
        keys = human_like_actions(N * settings.human_sequences, settings.steps, len(controls.effect_names),
                                  settings.hold, seed + 1)
        policies["keys"] = policies["human"][0], keys, policies["human"][2]
    frames: dict[str, dict[int, torch.Tensor]] = {}
    frozen: dict[str, float] = {}
    before = {h: h - settings.frozen_span for h in horizons if h > settings.frozen_span}
    for group, (context, actions, _) in policies.items():
        started = time.monotonic()
        log.info("long play: dreaming %d rollouts of %d steps (%s actions)", len(actions), settings.steps, group)
        tokens = dream_at(world, context, actions, tuple(sorted({*horizons, *before.values()})), temperature, seed,
                          settings.batch_size, controls if group == "keys" else None)
        frames[group] = {h: decode_frames(world, tokens[h]) for h in horizons}
        if group in ("human", "keys"):  # holding one code, or real play's rests, may rightly stand still
            for h, b in before.items():
                frozen[f"long_play/frozen_{group}_t{h}"] = frozen_rate(tokens[b], tokens[h])
        log.info("long play: %s done in %.0f s", group, time.monotonic() - started)

    metrics: dict[str, float] = {"long_play/starts": N, "long_play/steps": settings.steps, **frozen}
    if settings.classifier_steps > 0:
        log.info("long play: realism classifiers")
        real = reconstruct(world, sample_frames(store, split, settings.real_frames, seed))
        metrics["long_play/realism_real"] = real_against_real(real, seed, settings.classifier_steps)
        for group, (_, _, start_of) in policies.items():
            for h in horizons:
                metrics[f"long_play/realism_{group}_t{h}"] = two_sample_score(
                    frames[group][h], real, start_of, seed, settings.classifier_steps)
    if store.source == "coinrun":
        log.info("long play: the player detector")
        detector = fit_player_detector(world, store, "train", split, seed=seed)
        metrics |= detector.metrics()
        for h in horizons:
            for group in [g for g in ("human", "replayed", "keys") if g in frames]:
                metrics[f"long_play/player_in_view_{group}_t{h}"] = float(
                    detector.in_view(frames[group][h]).float().mean())
            per_action = detector.in_view(frames["held"][h]).float().reshape(K, N).mean(1)
            metrics[f"long_play/player_in_view_held_t{h}"] = float(per_action.mean())
            metrics[f"long_play/player_in_view_held_worst_t{h}"] = float(per_action.min())
            for a in range(K):
                metrics[f"long_play/player_in_view_held_a{a}_t{h}"] = float(per_action[a])
    if settings.walk_steps > 0:
        log.info("long play: walking from rest, each latent action held %d frames", settings.walk_steps)
        metrics |= walk_from_rest(world, store, split, settings.walk_steps, N)
    video = long_play_video(world, context_NThw[0], human[0], temperature, seed, settings.gif_scale)
    return LongPlay(metrics, video)
