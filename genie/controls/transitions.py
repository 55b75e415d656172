"""Labelled transitions of a run: for each step of an episode whose true actions are known, the effect of the key
pressed (CoinRun: LEFT / RIGHT / JUMP / NOTHING), how long that key has been held, and the LAM's code for it.

The code a key is fitted to is the LAM's code ``lookahead`` frames into the key's hold (``codes_ahead``): a walk from
a standstill moves one pixel in its first frame, which the LAM codes like standing still, so the code of the
transition itself would keep a dreamed player standing. The key map (key_map.py) and the key controller
(key_controls.py) both learn from these transitions.

The LAM's codes come from the run's token store, which caches them; a run without one (the world stage trains no
token store) has them inferred by its LAM from the episode store (``inferred_pairs``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from genie.checkpoints import read_world
from genie.data.store import EpisodeStore
from genie.data.token_store import TokenStore
from genie.world import WorldModel

LOOKAHEAD = 2  # frames into a key's hold whose code the key is fitted to, for a label-free LAM


def key_lookahead(world: WorldModel) -> int:
    """How many frames into a key's hold the code a key is fitted to lies (report.key_controller.lookahead null):
    LOOKAHEAD for a label-free LAM, whose codes for the first frames of a walk look like standing; 0 for a LAM
    taught with true actions (model.lam.labelled_fraction), whose codes name the key from a transition's first frame.
    Measured on the 3 000-step CoinRun worlds (docs/experiments/2026-12-05-few-labels.md): a labelled LAM's walk goes
    the game's way in 0.68 of moves at 0 against 0.59 at 2, a label-free one's in 0.50 at 0 against 0.71 at 2."""
    return 0 if world.labelled_fraction > 0 else LOOKAHEAD


def hold_counts(keys_ST: np.ndarray) -> np.ndarray:
    """For each step, how many frames the key of that step has been held, itself included (1: just pressed):
    int64 [..., T] from keys int [..., T] (the last axis is time)."""
    keys = np.asarray(keys_ST)
    held = np.ones(keys.shape, np.int64)
    for t in range(1, keys.shape[-1]):
        held[..., t] = np.where(keys[..., t] == keys[..., t - 1], held[..., t - 1] + 1, 1)
    return held


def run_lengths(codes_T: np.ndarray) -> np.ndarray:
    """Lengths of the runs of equal values in a stream, in order: int [runs] (each run starts where the one before
    ends)."""
    codes_T = np.asarray(codes_T)
    starts = np.flatnonzero(np.concatenate([[True], codes_T[1:] != codes_T[:-1]]))
    return np.diff(np.concatenate([starts, [len(codes_T)]]))


def codes_ahead(codes_T: np.ndarray, held_T: np.ndarray, lookahead: int) -> np.ndarray:
    """Each step's target code: the LAM's code ``lookahead`` frames later where the same key is still held then,
    else the step's own code. int [T] -> int [T]."""
    target = codes_T.copy()
    T = len(codes_T)
    if lookahead > 0 and T > lookahead:
        still_held = held_T[lookahead:] == held_T[:-lookahead] + lookahead
        target[:-lookahead] = np.where(still_held, codes_T[lookahead:], codes_T[:-lookahead])
    return target


class LabelledTransitions:
    """Every transition t -> t+1 of a token store split's labelled episodes with ``window`` frames of history:
    ``batch(index)`` -> (tokens int64 [B, window, h, w], effect int64 [B], frames its key has been held int64 [B],
    target code int64 [B]), the target being the LAM's code ``lookahead`` frames into the key's hold."""

    def __init__(self, store: TokenStore, split: str, window: int, effect_of_action: np.ndarray,
                 lookahead: int = 0):
        self.tokens, self.effects, self.held, self.codes, self.index = [], [], [], [], []
        for e in store.episodes(split):
            if not e["has_actions"]:
                continue
            k = len(self.tokens)
            self.tokens.append(store.array(e["name"], "tokens"))
            self.effects.append(effect_of_action[store.array(e["name"], "actions").astype(np.int64)])
            self.held.append(hold_counts(self.effects[-1]))
            codes = store.array(e["name"], "latent_actions").astype(np.int64)
            self.codes.append(codes_ahead(codes, self.held[-1], lookahead))
            self.index += [(k, t) for t in range(window - 1, e["length"] - 1)]
        self.window = window

    def __len__(self) -> int:
        return len(self.index)

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """(effect, target code) of every transition, in index order: int64 [N] each."""
        first = self.window - 1
        return (np.concatenate([e[first:] for e in self.effects]).astype(np.int64),
                np.concatenate([c[first:] for c in self.codes]).astype(np.int64))

    def batch(self, picks: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        items = [self.index[i] for i in picks]
        tokens = np.stack([self.tokens[k][t - self.window + 1 : t + 1] for k, t in items]).astype(np.int64)
        effects = np.array([self.effects[k][t] for k, t in items])
        held = np.array([self.held[k][t] for k, t in items])
        codes = np.array([self.codes[k][t] for k, t in items])
        return torch.from_numpy(tokens), torch.from_numpy(effects), torch.from_numpy(held), torch.from_numpy(codes)


def labelled_token_store(run_dir: Path, splits: tuple[str, ...] = ("train",)) -> TokenStore | None:
    """The run's token store where it holds labelled episodes (true actions) in each of ``splits``, else None."""
    tokens_path = read_world(run_dir).get("tokens")
    if not tokens_path or not Path(tokens_path, "manifest.json").is_file():
        return None
    token_store = TokenStore(tokens_path)
    if not all(any(e["has_actions"] for e in token_store.episodes(split)) for split in splits):
        return None
    return token_store


def inferred_pairs(world: WorldModel, store: EpisodeStore, split: str, effect_of_action: np.ndarray,
                   lookahead: int = LOOKAHEAD, max_transitions: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """(effect, target code) of the labelled transitions of ``split``'s first episodes, up to ``max_transitions``,
    the codes inferred by the world's LAM as a token store caches them: int64 [N] each (N = 0 without labels)."""
    effects, codes = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    left = max_transitions
    for info in store.episodes(split):
        if left <= 0:
            break
        if not info.has_actions:
            continue
        frames = torch.from_numpy(np.array(store.frames(info.name)[: left + 1]))
        effect = np.asarray(effect_of_action, np.int64)[store.actions(info.name)[: left].astype(np.int64)]
        code = world.infer_actions(frames[None])[0].cpu().numpy()
        effects.append(effect)
        codes.append(codes_ahead(code, hold_counts(effect), lookahead))
        left -= len(effect)
    return np.concatenate(effects), np.concatenate(codes)
