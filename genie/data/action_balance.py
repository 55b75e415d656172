"""Drawing training clips so that rare actions are seen more often.

A game's data is dominated by a few actions (standing, falling); the ones a player feels most (a walk from rest, a
serve) can be a few per cent of the transitions, and a dynamics model trained on uniformly drawn clips learns them
last. With ``exponent`` a > 0 each clip is drawn with weight ``count(action) ** -a``, where ``action`` is the one at
``position`` in the clip (the transition the model predicts first): a = 0 draws uniformly, a = 1 draws every action
equally often, a = 0.5 halfway between (an action's share of the draws goes as the square root of its share of the
data). With ``history`` h > 0 the class is the run of the h actions before it and the action (h = 1: the pair
(previous, current)), so a rare change of action, such as a walk started from rest, is drawn more often than the
same action held.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import WeightedRandomSampler


@dataclass(frozen=True)
class ActionBalance:
    position: int  # index into the clip's actions: the transition weighed
    exponent: float  # 0: uniform draws; 1: every action equally often
    effect_of_action: tuple[int, ...] | None = None  # true action -> the effect the model reads (game actions)
    history: int = 0  # earlier actions that, with the one at ``position``, make the class balanced

    @property
    def kind(self) -> str:
        """Which actions of a token clip: the game's (where they map to effects) or the LAM's codes."""
        return "latent_actions" if self.effect_of_action is None else "actions"

    @property
    def positions(self) -> range:
        """The positions of the actions that make a clip's class, oldest first."""
        return range(self.position - self.history, self.position + 1)

    def of_clips(self, actions_NP: np.ndarray) -> np.ndarray:
        """The class of each clip, int [N], from its stored actions at ``positions`` int [N, history + 1]; -1 where
        any of them is unknown (-1)."""
        if self.effect_of_action is not None:
            effects = np.asarray(self.effect_of_action, np.int64)
            actions_NP = np.where(actions_NP >= 0, effects[np.maximum(actions_NP, 0)], -1)
        known = (actions_NP >= 0).all(axis=1)
        classes = np.full(len(actions_NP), -1, np.int64)
        if known.any():
            dims = (int(actions_NP[known].max()) + 1,) * actions_NP.shape[1]
            classes[known] = np.ravel_multi_index(tuple(actions_NP[known].T), dims)
        return classes


def balance_weights(classes_N: np.ndarray, exponent: float) -> np.ndarray:
    """Per-clip draw weights float64 [N] from each clip's class int [N]; they sum to 1. Negative classes (unknown)
    weigh as much as the mean clip."""
    known = classes_N >= 0
    counts = np.bincount(classes_N[known]) if known.any() else np.zeros(1, np.int64)
    weights = np.ones(len(classes_N))
    weights[known] = counts[classes_N[known]].astype(np.float64) ** -exponent
    if known.any() and not known.all():
        weights[~known] = weights[known].mean()
    return weights / weights.sum()


def balanced_sampler(classes_N: np.ndarray, exponent: float) -> WeightedRandomSampler:
    """A sampler that draws ``len(classes_N)`` clips a pass, with replacement, weighted by ``balance_weights``."""
    weights = torch.from_numpy(balance_weights(classes_N, exponent))
    return WeightedRandomSampler(weights, num_samples=len(classes_N), replacement=True)
