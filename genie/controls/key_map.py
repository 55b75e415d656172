"""The fixed key map: which latent action each of the game's effects sends (CoinRun: LEFT, RIGHT, JUMP, NOTHING;
an Atari game: its own actions), and which browser key presses it.

Each effect takes its most frequent code among labelled transitions (the code ``lookahead`` frames into the key's
hold, transitions.py), assigned greedily, the most certain effect first, so that no code serves two effects: the
keys must send codes that say which effect they stand for. Where every effect's most frequent code differs, this is
each effect's most frequent code. The report scores this map beside the key controller
(``controls/fixed_map_accuracy``) and play sends its codes: one map, built one way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# the browser key of each effect that has one (CoinRun's effects, and Atari's action names), named as the browser's
# KeyboardEvent.code names them; NOTHING / NOOP is what happens while no key is held
EFFECT_KEYS = {"LEFT": "ArrowLeft", "RIGHT": "ArrowRight", "JUMP": "ArrowUp", "UP": "ArrowUp", "DOWN": "ArrowDown",
               "FIRE": "Space"}
NO_KEY_EFFECTS = ("NOTHING", "NOOP")
NO_CODE = -1  # an effect no code was left for (more effects than codes)


@dataclass
class KeyMap:
    effect_names: list[str]
    codes: list[int]  # the latent action each effect sends, by effect index; NO_CODE where none was left
    precision: list[float]  # the share of its code's transitions that had the effect (1.0: the world takes effects)

    def accuracy(self, effects_N: np.ndarray, codes_N: np.ndarray) -> float:
        """The share of transitions (effect int [N], target code int [N]) whose effect sends their code."""
        return float((np.asarray(self.codes)[np.asarray(effects_N)] == np.asarray(codes_N)).mean())

    def browser_keys(self) -> dict[str, int]:
        """{browser key: latent action} for the effects that have a key, e.g. {"ArrowLeft": 3, "ArrowUp": 5}."""
        return {EFFECT_KEYS[name]: code for name, code in zip(self.effect_names, self.codes)
                if name in EFFECT_KEYS and code != NO_CODE}

    def no_key_code(self) -> int | None:
        """The latent action of NOTHING (or NOOP): what the world does while no key is held; None without one."""
        return next((code for name, code in zip(self.effect_names, self.codes)
                     if name in NO_KEY_EFFECTS and code != NO_CODE), None)

    def effect_of_code(self) -> dict[int, int]:
        """{latent action: the effect index it stands for} of every effect that sends one."""
        return {code: e for e, code in enumerate(self.codes) if code != NO_CODE}

    def describe(self) -> str:
        """E.g. ``LEFT = a=3 (71% of its clips), RIGHT = a=5 (80% of its clips)``."""
        return ", ".join(f"{name} = a={code} ({p:.0%} of its clips)"
                         for name, code, p in zip(self.effect_names, self.codes, self.precision) if code != NO_CODE)

    @classmethod
    def identity(cls, effect_names: list[str]) -> "KeyMap":
        """The map of a world that takes the game's effects as its actions: effect i sends action i."""
        return cls(list(effect_names), list(range(len(effect_names))), [1.0] * len(effect_names))


def fit_key_map(effects_N: np.ndarray, codes_N: np.ndarray, effect_names: list[str], num_actions: int) -> KeyMap:
    """The key map of labelled transitions: effect int [N] in [0, len(effect_names)), target code int [N] in
    [0, num_actions). An effect whose codes all went to more certain effects (or that no transition shows) gets
    NO_CODE."""
    counts_EK = np.zeros((len(effect_names), num_actions), np.int64)
    np.add.at(counts_EK, (np.asarray(effects_N), np.asarray(codes_N)), 1)
    share_EK = counts_EK / np.maximum(counts_EK.sum(1, keepdims=True), 1)  # P(code | effect)
    share_EK[counts_EK == 0] = -np.inf  # an effect takes only a code it came with
    codes = [NO_CODE] * len(effect_names)
    while np.isfinite(share_EK).any():
        effect, code = np.unravel_index(np.argmax(share_EK), share_EK.shape)
        codes[effect] = int(code)
        share_EK[effect, :], share_EK[:, code] = -np.inf, -np.inf
    precision = [round(float(counts_EK[e, c] / max(counts_EK[:, c].sum(), 1)), 3) if c != NO_CODE else 0.0
                 for e, c in enumerate(codes)]
    return KeyMap(list(effect_names), codes, precision)
