"""The game's controls in latent actions: which latent code is LEFT, which RIGHT, which JUMP, from a store whose
true actions say what each button does (CoinRun's effects, an Atari game's actions). Play uses the map for the arrow
keys and space.

Each effect takes the code it is most over-represented in: the lift P(effect | code) / P(effect), over labelled
held-out transitions, assigned greedily so no code serves two effects. The map says how often each code's clips
really had its effect (its precision), so a player knows how far to trust it.
"""

from __future__ import annotations

import numpy as np
import torch

from genie.data.store import EpisodeStore
from genie.eval.evaluate import held_out_clips
from genie.nn.pixels import to_model
from genie.world import WorldModel

# the keys of the game's effects (CoinRun's, and Atari's action names); NOTHING / NOOP is the no-key action
EFFECT_KEYS = {"LEFT": "ArrowLeft", "RIGHT": "ArrowRight", "JUMP": "ArrowUp", "UP": "ArrowUp", "DOWN": "ArrowDown",
               "FIRE": "Space"}
NO_KEY_EFFECTS = ("NOTHING", "NOOP")


def assign_codes(counts_KE: np.ndarray) -> dict[int, int]:
    """counts [codes, effects] of labelled transitions -> {effect: code}, greedily by lift, one code per effect."""
    counts = counts_KE.astype(np.float64)
    p_effect = counts.sum(0) / max(counts.sum(), 1)
    lift = counts / np.maximum(counts.sum(1, keepdims=True), 1) / np.maximum(p_effect, 1e-9)
    lift[counts.sum(1) == 0] = -np.inf  # unused codes serve nothing
    assignment: dict[int, int] = {}
    while len(assignment) < min(counts.shape) and np.isfinite(lift).any():
        code, effect = np.unravel_index(np.argmax(lift), lift.shape)
        assignment[int(effect)] = int(code)
        lift[code, :], lift[:, effect] = -np.inf, -np.inf
    return assignment


@torch.no_grad()
def latent_and_true_actions(world: WorldModel, store: EpisodeStore, split: str, max_clips: int,
                            batch_size: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """(LAM code, true action) of the last transition of up to ``max_clips`` clips spread over ``split``: int [N]
    each (true actions -1 where unlabelled)."""
    clips = held_out_clips(store, split, world.window + 1, max_clips)
    codes, true = [], []
    for start in range(0, min(len(clips), max_clips), batch_size):
        items = [clips[i] for i in range(start, min(start + batch_size, len(clips), max_clips))]
        frames_BTHWC = torch.stack([it["frames"] for it in items]).to(world.device)
        codes.append(world.lam.infer(to_model(frames_BTHWC)).cpu())
        true.append(torch.stack([it["actions"][-1] for it in items]))
    return torch.cat(codes).numpy(), torch.cat(true).numpy()


def ground_controls(world: WorldModel, store: EpisodeStore, split: str = "val", max_clips: int = 1024) -> dict | None:
    """{"keys": {ArrowLeft: code, ...}, "effects": {LEFT: {"code", "precision"}, ...}} from ``split``'s labelled
    transitions; None where the store does not say what its actions do."""
    effects = store.effects()
    if effects is None or not store.episodes(split):
        return None
    effect_of_action, names = np.asarray(effects[0]), effects[1]
    codes, true_actions = latent_and_true_actions(world, store, split, max_clips)
    if (true_actions < 0).any():
        return None
    true_effect = effect_of_action[true_actions]
    counts = np.zeros((world.num_actions, len(names)), np.int64)
    np.add.at(counts, (codes, true_effect), 1)
    assignment = assign_codes(counts)
    grounded = {names[e]: {"code": c, "precision": round(float(counts[c, e] / max(counts[c].sum(), 1)), 3)}
                for e, c in assignment.items()}
    keys = {EFFECT_KEYS[name]: g["code"] for name, g in grounded.items() if name in EFFECT_KEYS}
    return {"keys": keys, "effects": grounded, "split": split, "clips": len(true_effect)}
