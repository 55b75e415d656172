"""The game's controls in latent actions: which latent code is LEFT, which RIGHT, which JUMP, from a store whose
true actions say what each button does (CoinRun's effects). Play uses the map for the arrow keys.

Each effect takes the code it is most over-represented in: the lift P(effect | code) / P(effect), over labelled
held-out transitions, assigned greedily so no code serves two effects. The map says how often each code's clips
really had its effect (its precision), so a player knows how far to trust it.
"""

from __future__ import annotations

import numpy as np

from genie.data.store import EpisodeStore
from genie.world import WorldModel

EFFECT_KEYS = {"LEFT": "ArrowLeft", "RIGHT": "ArrowRight", "JUMP": "ArrowUp"}


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


def ground_controls(world: WorldModel, store: EpisodeStore, split: str = "val", max_clips: int = 1024) -> dict | None:
    """{"keys": {ArrowLeft: code, ...}, "effects": {LEFT: {"code", "precision"}, ...}} from ``split``'s labelled
    transitions; None where the store does not say what its actions do."""
    from genie.eval.evaluate import evaluate

    effects = store.effects()
    if effects is None or not store.episodes(split):
        return None
    effect_of_action, names = np.asarray(effects[0]), effects[1]
    clips = evaluate(world, store, split, max_clips)
    if (clips.true_actions < 0).any():
        return None
    true_effect = effect_of_action[clips.true_actions]
    counts = np.zeros((world.num_actions, len(names)), np.int64)
    np.add.at(counts, (clips.lam_codes, true_effect), 1)
    assignment = assign_codes(counts)
    grounded = {names[e]: {"code": c, "precision": round(float(counts[c, e] / max(counts[c].sum(), 1)), 3)}
                for e, c in assignment.items()}
    keys = {EFFECT_KEYS[name]: g["code"] for name, g in grounded.items() if name in EFFECT_KEYS}
    return {"keys": keys, "effects": grounded, "split": split, "clips": int(len(true_effect))}
