"""Grounding latent actions in the game's controls with a few labels (the Genie paper maps its LAM's codes to real
actions with about 200 labelled transitions on CoinRun).

From ``n`` labelled transitions (the LAM's code, the effect of the true action) drawn at random from the train
split, each code is mapped to the effect it carries most often; a code no label shows gets the most frequent effect
of the draw. The map is scored on every labelled transition of the held-out split: the share whose code maps to its
true effect. Each ``n`` is drawn ``draws`` times (mean and standard deviation); ``all`` uses every train transition.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from genie.controls.transitions import LabelledTransitions, labelled_token_store
from genie.data.store import EpisodeStore
from genie.data.token_store import TokenStore
from genie.eval.metrics import majority_map
from genie.eval.visualise import save_figure

LABELS = (10, 50, 200, 1000)


@dataclass
class GroundingCurve:
    labels: list[int]  # labelled train transitions per draw
    accuracy_mean: list[float]  # held-out transitions whose code maps to their true effect, mean over draws
    accuracy_std: list[float]
    accuracy_all: float  # the map from every labelled train transition
    majority: float  # always answering the most frequent effect of the train split
    code_map_all: list[int]  # code -> effect index, from every labelled train transition
    effect_names: list[str]
    train_transitions: int
    test_transitions: int
    draws: int

    def metrics(self) -> dict[str, float]:
        """``grounding/effect_accuracy_n{n}`` for each n, ``..._all`` and ``grounding/majority``."""
        out = {f"grounding/effect_accuracy_n{n}": a for n, a in zip(self.labels, self.accuracy_mean)}
        return out | {"grounding/effect_accuracy_all": self.accuracy_all, "grounding/majority": self.majority}

    def as_dict(self) -> dict:
        return asdict(self)


def labelled_codes(store: TokenStore, split: str, effect_of_action: np.ndarray,
                   window: int) -> tuple[np.ndarray, np.ndarray]:
    """(LAM code, effect of the true action) of every transition of the split's labelled episodes that has
    ``window`` frames of history, as every clip the LAM reads has: int64 [N] each."""
    transitions = LabelledTransitions(store, split, window, effect_of_action)
    if not len(transitions):
        raise ValueError(f"{store.root}: no labelled transitions in the '{split}' split")
    effects, codes = transitions.pairs()
    return codes, effects


def over_draws(score: Callable[[np.ndarray], float], population: int, labels: tuple[int, ...], draws: int,
               rng: np.random.Generator) -> tuple[list[int], list[float], list[float]]:
    """For each n of ``labels`` below ``population``: ``score(rows)`` of ``draws`` random draws of n rows (int [n]).
    -> (the n kept, mean scores, their standard deviations)."""
    kept, means, stds = [], [], []
    for n in labels:
        if n >= population:
            continue
        scores = [score(rng.choice(population, n, replace=False)) for _ in range(draws)]
        kept.append(n)
        means.append(float(np.mean(scores)))
        stds.append(float(np.std(scores)))
    return kept, means, stds


def grounding_curve(store: TokenStore, effect_of_action: list[int], effect_names: list[str], num_codes: int,
                    window: int, labels: tuple[int, ...] = LABELS, draws: int = 20, split: str = "test",
                    seed: int = 0) -> GroundingCurve:
    effect_of_action = np.asarray(effect_of_action, np.int64)
    num_effects = len(effect_names)
    train_codes, train_effects = labelled_codes(store, "train", effect_of_action, window)
    test_codes, test_effects = labelled_codes(store, split, effect_of_action, window)

    def accuracy(code_map: np.ndarray) -> float:
        return float((code_map[test_codes] == test_effects).mean())

    labels, means, stds = over_draws(
        lambda pick: accuracy(majority_map(train_codes[pick], train_effects[pick], num_codes, num_effects)),
        len(train_codes), labels, draws, np.random.default_rng(seed))
    code_map = majority_map(train_codes, train_effects, num_codes, num_effects)
    majority = int(np.bincount(train_effects, minlength=num_effects).argmax())
    return GroundingCurve(
        labels=labels, accuracy_mean=means, accuracy_std=stds, accuracy_all=accuracy(code_map),
        majority=float((test_effects == majority).mean()), code_map_all=code_map.tolist(),
        effect_names=list(effect_names), train_transitions=len(train_codes), test_transitions=len(test_codes),
        draws=draws,
    )


def run_grounding(run_dir: Path, store: EpisodeStore, num_codes: int, window: int, split: str = "test",
                  seed: int = 0) -> GroundingCurve | None:
    """The curve of a run from its token store; None where the store does not say what its actions do or the token
    store holds no labelled train and ``split`` transitions."""
    effects = store.effects()
    tokens = labelled_token_store(run_dir, ("train", split)) if effects is not None else None
    if tokens is None:
        return None
    return grounding_curve(tokens, effects[0], effects[1], num_codes, window, split=split, seed=seed)


def grounding_figure(path: Path, curve: GroundingCurve, ceiling: float | None = None,
                     probe: dict | None = None) -> Path:
    """Accuracy against the number of labels (log scale), with the all-labels map, the majority answer and, where
    given, the supervised ceiling as horizontal lines, and a probe's curve ({labels, accuracy_mean, accuracy_std})."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.6), dpi=120)
    ax.errorbar(curve.labels, curve.accuracy_mean, yerr=curve.accuracy_std, marker="o", capsize=3,
                label=f"code -> effect map from n labels ({curve.draws} draws)")
    ax.axhline(curve.accuracy_all, color="tab:blue", ls="--", lw=1,
               label=f"all {curve.train_transitions} labels: {curve.accuracy_all:.3f}")
    ax.axhline(curve.majority, color="grey", ls=":", lw=1, label=f"most frequent effect: {curve.majority:.3f}")
    if probe is not None:
        ax.errorbar(probe["labels"], probe["accuracy_mean"], yerr=probe["accuracy_std"], marker="s", capsize=3,
                    color="tab:green", label="LAM vector before quantisation -> effect (logistic regression)")
    if ceiling is not None:
        ax.axhline(ceiling, color="tab:red", ls="-.", lw=1, label=f"supervised ceiling: {ceiling:.3f}")
    ax.set_xscale("log")
    ax.set_xlabel("labelled transitions")
    ax.set_ylabel("held-out effect accuracy")
    ax.set_title(f"Grounding latent actions ({curve.test_transitions} held-out transitions)", fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, path)
