"""The game's keys through the key controller (genie/nn/key_controller.py): fit it on the labelled transitions of a
token store (tokens of the last W frames, the effect of the true action and how long it has been held, the LAM's
code a few frames into that hold), and choose each dreamed step's latent action from the history and the key held.

Its accuracy on held-out transitions is reported beside that of a fixed key->code map (each effect's most frequent
code): the gap is how much the right code depends on where the player is.
"""

from __future__ import annotations

import io
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from genie.checkpoints import read_world
from genie.data.store import EpisodeStore, atomic_write_bytes
from genie.data.token_store import TokenStore
from genie.eval.metrics import majority_map
from genie.nn.key_controller import KeyController, KeyControllerConfig
from genie.world import WorldModel, pad_history

log = logging.getLogger(__name__)


def hold_counts(keys_ST: np.ndarray) -> np.ndarray:
    """For each step, how many frames the key of that step has been held, itself included (1: just pressed):
    int64 [..., T] from keys int [..., T] (the last axis is time)."""
    keys = np.asarray(keys_ST)
    held = np.ones(keys.shape, np.int64)
    for t in range(1, keys.shape[-1]):
        held[..., t] = np.where(keys[..., t] == keys[..., t - 1], held[..., t - 1] + 1, 1)
    return held


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
    """Every transition t -> t+1 of a split's labelled episodes with ``window`` frames of history:
    ``batch(index)`` -> (tokens int64 [B, window, h, w], effect int64 [B], frames its key has been held int64 [B],
    target code int64 [B]). The target is the LAM's code ``lookahead`` frames into the key's hold
    (``codes_ahead``): a walk from a standstill moves one pixel in its first frame, which the LAM codes like
    standing still, so the code of the transition itself would keep a dreamed player standing."""

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


def fixed_map(transitions: LabelledTransitions, num_effects: int, num_actions: int) -> np.ndarray:
    """Each effect's most frequent code: int [num_effects]."""
    return majority_map(*transitions.pairs(), num_effects, num_actions)


@torch.no_grad()
def accuracy(controller: KeyController, transitions: LabelledTransitions, fixed: np.ndarray,
             batch_size: int = 512) -> dict[str, float]:
    right = fixed_right = 0
    for lo in range(0, len(transitions), batch_size):
        tokens, effects, held, codes = transitions.batch(np.arange(lo, min(lo + batch_size, len(transitions))))
        right += int((controller(tokens, effects, held).argmax(1) == codes).sum())
        fixed_right += int((torch.from_numpy(fixed)[effects] == codes).sum())
    n = max(len(transitions), 1)
    return {"controller_accuracy": right / n, "fixed_map_accuracy": fixed_right / n, "transitions": len(transitions)}


def fit_key_controller(store: TokenStore, effect_of_action: list[int], effect_names: list[str], window: int,
                       num_codes: int, num_actions: int, steps: int = 600, held_frames: int = 8, lookahead: int = 2,
                       batch_size: int = 64, lr: float = 1e-3, seed: int = 0) -> tuple[KeyController, dict]:
    """Train on the train split's labelled transitions; score on the val split's. -> (controller in eval mode,
    {controller_accuracy, fixed_map_accuracy, ...})."""
    effect_of_action = np.asarray(effect_of_action)
    train = LabelledTransitions(store, "train", window, effect_of_action, lookahead)
    if not len(train):
        raise ValueError(f"{store.root}: no labelled transitions in the train split to fit the key controller on")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    cfg = KeyControllerConfig(num_codes=num_codes, num_actions=num_actions,
                              num_effects=len(effect_names), window=window, held_frames=held_frames)
    controller = KeyController(cfg)
    optimiser = torch.optim.AdamW(controller.parameters(), lr=lr)
    started = time.monotonic()
    for _ in range(steps):
        tokens, effects, held, codes = train.batch(rng.integers(0, len(train), batch_size))
        loss = F.cross_entropy(controller(tokens, effects, held), codes)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    controller.eval()
    metrics = accuracy(controller, LabelledTransitions(store, "val", window, effect_of_action, lookahead),
                       fixed_map(train, len(effect_names), num_actions))
    metrics |= {"lookahead": lookahead, "steps": steps, "seconds": round(time.monotonic() - started, 1),
                "effects": effect_names, "config": asdict(cfg)}
    log.info("key controller: %.1f %% of held-out codes right (the fixed key map: %.1f %%), %d steps in %.0f s",
             100 * metrics["controller_accuracy"], 100 * metrics["fixed_map_accuracy"], steps, metrics["seconds"])
    return controller, metrics


CONTROLS_FILE = Path("controls") / "key_controller.pt"


@dataclass
class KeyControls:
    """A fitted key controller and the effects it knows, by index (CoinRun: LEFT, RIGHT, JUMP, NOTHING)."""

    controller: KeyController
    effect_names: list[str]
    metrics: dict

    @torch.no_grad()
    def choose(self, history_BThw: torch.Tensor, effects_B: torch.Tensor, held_B: torch.Tensor) -> torch.Tensor:
        """The latent action int64 [B] each key means after this history (tokens int [B, >= window, h, w]), the
        key held for ``held_B`` frames (int [B], 1: pressed now)."""
        W = self.controller.cfg.window
        history = pad_history(history_BThw[:, -W:], W).to(self.controller.head.weight.device)
        return self.controller(history, effects_B.to(history.device), held_B.to(history.device)).argmax(1)

    def save(self, run_dir: Path) -> Path:
        path = Path(run_dir) / CONTROLS_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        torch.save({"config": asdict(self.controller.cfg), "state_dict": self.controller.state_dict(),
                    "effect_names": self.effect_names, "metrics": self.metrics}, buffer)
        atomic_write_bytes(path, buffer.getvalue())
        return path

    @classmethod
    def load(cls, run_dir: Path, device: torch.device | str = "cpu") -> "KeyControls | None":
        """The run's key controls, None where the run has none (a store without true actions)."""
        path = Path(run_dir) / CONTROLS_FILE
        if not path.is_file():
            return None
        saved = torch.load(path, map_location=device, weights_only=True)
        # controllers saved before the hold count existed read no hold count
        config = {"held_frames": 1} | saved["config"] | {"dilations": tuple(saved["config"]["dilations"])}
        controller = KeyController(KeyControllerConfig(**config)).to(device)
        controller.load_state_dict(saved["state_dict"])
        return cls(controller.eval(), saved["effect_names"], saved["metrics"])


def labelled_token_store(run_dir: Path, splits: tuple[str, ...] = ("train",)) -> TokenStore | None:
    """The run's token store where it holds labelled episodes (true actions) in each of ``splits``, else None."""
    tokens_path = read_world(run_dir).get("tokens")
    if not tokens_path or not Path(tokens_path, "manifest.json").is_file():
        return None
    token_store = TokenStore(tokens_path)
    if not all(any(e["has_actions"] for e in token_store.episodes(split)) for split in splits):
        return None
    return token_store


def fit_key_controls(run_dir: Path, world: WorldModel, store: EpisodeStore, steps: int, window: int,
                     held_frames: int = 8, lookahead: int = 2) -> KeyControls | None:
    """Fit the run's key controls on its token store's labelled transitions and save them into the run; None (and
    nothing written) where the store does not say what its actions do, or the token store has no true actions."""
    effects = store.effects()
    token_store = labelled_token_store(run_dir) if effects is not None and steps > 0 else None
    if token_store is None:
        return None
    controller, metrics = fit_key_controller(token_store, effects[0], effects[1], window,
                                             world.tokenizer.num_codes, world.num_actions, steps, held_frames,
                                             lookahead)
    controls = KeyControls(controller, list(effects[1]), metrics)
    controls.save(run_dir)
    return controls
