"""A run's key controls: the key map (key_map.py) and the key controller (key_controller.py), fitted together on the
labelled transitions of its token store (transitions.py), saved into the run as ``controls/key_controller.pt``,
and used the same way by the report (long play, key response) and by play.

The controller's accuracy on held-out transitions is reported beside the key map's: the gap is how much the right
code depends on where the player is.
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

from genie.controls.key_controller import KeyController, KeyControllerConfig
from genie.controls.key_map import KeyMap, fit_key_map
from genie.controls.transitions import (LOOKAHEAD, LabelledTransitions, inferred_pairs, key_lookahead,
                                       labelled_token_store)
from genie.data.store import EpisodeStore, atomic_write_bytes
from genie.data.token_store import TokenStore
from genie.errors import UserError
from genie.precision import fast_bf16
from genie.world import WorldModel, pad_history

log = logging.getLogger(__name__)

CONTROLS_FILE = Path("controls") / "key_controller.pt"


@dataclass
class KeyControls:
    """A fitted key controller and the key map of the same transitions; effects by index in
    ``key_map.effect_names`` (CoinRun: LEFT, RIGHT, JUMP, NOTHING)."""

    controller: KeyController
    key_map: KeyMap
    metrics: dict

    @property
    def effect_names(self) -> list[str]:
        return self.key_map.effect_names

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
                    "effect_names": self.effect_names, "metrics": self.metrics,
                    "key_map": {"codes": self.key_map.codes, "precision": self.key_map.precision}}, buffer)
        atomic_write_bytes(path, buffer.getvalue())
        return path

    @classmethod
    def load(cls, run_dir: Path, device: torch.device | str = "cpu") -> "KeyControls | None":
        """The run's key controls, None where the run has none (a store without true actions)."""
        path = Path(run_dir) / CONTROLS_FILE
        if not path.is_file():
            return None
        saved = torch.load(path, map_location=device, weights_only=True)
        if "key_map" not in saved:
            raise UserError(f"{path}: key controls without a key map (saved by an earlier version); delete the file "
                            f"and run `python dream.py run={run_dir}` to fit them again")
        controller = KeyController(KeyControllerConfig(**saved["config"] | {
            "dilations": tuple(saved["config"]["dilations"])})).to(device)
        controller.load_state_dict(saved["state_dict"])
        key_map = KeyMap(list(saved["effect_names"]), **saved["key_map"])
        return cls(controller.eval(), key_map, saved["metrics"])


@torch.no_grad()
def accuracy(controller: KeyController, key_map: KeyMap, transitions: LabelledTransitions,
             batch_size: int = 512) -> dict[str, float]:
    """The share of ``transitions`` whose target code the controller picks, and the share the key map sends."""
    right = 0
    for lo in range(0, len(transitions), batch_size):
        tokens, effects, held, codes = transitions.batch(np.arange(lo, min(lo + batch_size, len(transitions))))
        right += int((controller(tokens, effects, held).argmax(1) == codes).sum())
    fixed = key_map.accuracy(*transitions.pairs()) if len(transitions) else 0.0
    return {"controller_accuracy": right / max(len(transitions), 1), "fixed_map_accuracy": fixed,
            "transitions": len(transitions)}


def fit_key_controller(store: TokenStore, effect_of_action: list[int], effect_names: list[str], window: int,
                       num_codes: int, num_actions: int, steps: int = 600, held_frames: int = 8,
                       lookahead: int = LOOKAHEAD, batch_size: int = 64, lr: float = 1e-3,
                       seed: int = 0, bf16: bool | None = None) -> KeyControls:
    """Fit the key map and train the controller on the train split's labelled transitions; score both on the val
    split's (``metrics``: controller_accuracy, fixed_map_accuracy, ...). The controller is left in eval mode.

    ``bf16``: train under bf16 autocast (float32 weights and loss), about twice as fast where the CPU has native
    bf16; None: wherever it does."""
    bf16 = fast_bf16("cpu") if bf16 is None else bf16
    effect_of_action = np.asarray(effect_of_action)
    train = LabelledTransitions(store, "train", window, effect_of_action, lookahead)
    if not len(train):
        raise ValueError(f"{store.root}: no labelled transitions in the train split to fit the key controller on")
    key_map = fit_key_map(*train.pairs(), effect_names, num_actions)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    cfg = KeyControllerConfig(num_codes=num_codes, num_actions=num_actions,
                              num_effects=len(effect_names), window=window, held_frames=held_frames)
    controller = KeyController(cfg)
    optimiser = torch.optim.AdamW(controller.parameters(), lr=lr)
    started = time.monotonic()
    for _ in range(steps):
        tokens, effects, held, codes = train.batch(rng.integers(0, len(train), batch_size))
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = controller(tokens, effects, held)
        loss = F.cross_entropy(logits.float(), codes)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    controller.eval()
    metrics = accuracy(controller, key_map, LabelledTransitions(store, "val", window, effect_of_action, lookahead))
    metrics |= {"lookahead": lookahead, "steps": steps, "seconds": round(time.monotonic() - started, 1), "bf16": bf16,
                "effects": list(effect_names), "config": asdict(cfg)}
    log.info("key controller: %.1f %% of held-out codes right (the fixed key map: %.1f %%), %d steps in %.0f s",
             100 * metrics["controller_accuracy"], 100 * metrics["fixed_map_accuracy"], steps, metrics["seconds"])
    return KeyControls(controller, key_map, metrics)


def fit_key_controls(run_dir: Path, world: WorldModel, store: EpisodeStore, steps: int, window: int,
                     held_frames: int = 8, lookahead: int | None = None) -> KeyControls | None:
    """Fit the run's key controls on its token store's labelled transitions and save them into the run; None (and
    nothing written) where the store does not say what its actions do, or the token store has no true actions."""
    effects = store.effects()
    token_store = labelled_token_store(run_dir) if effects is not None and steps > 0 else None
    if token_store is None:
        return None
    lookahead = key_lookahead(world) if lookahead is None else lookahead
    controls = fit_key_controller(token_store, effects[0], effects[1], window, world.tokenizer.num_codes,
                                  world.num_actions, steps, held_frames, lookahead)
    controls.save(run_dir)
    return controls


def fit_run_key_map(run_dir: Path, world: WorldModel, store: EpisodeStore | None) -> KeyMap | None:
    """The key map of a run that has no key controls saved, fitted as ``fit_key_controller`` fits it: on the train
    split's labelled transitions, from its token store where it has one, else with codes its LAM infers. A world
    that takes the game's effects as actions gets each effect's own action. None where the store does not say what
    its actions do (or there is no store), or has no labelled train transitions."""
    if world.effect_names is not None:
        return KeyMap.identity(world.effect_names)
    if store is None or (effects := store.effects()) is None:
        return None
    effect_of_action, names = np.asarray(effects[0]), list(effects[1])
    if (token_store := labelled_token_store(run_dir)) is not None:
        pairs = LabelledTransitions(token_store, "train", 1, effect_of_action, key_lookahead(world)).pairs()
    else:
        pairs = inferred_pairs(world, store, "train", effect_of_action, key_lookahead(world))
    return fit_key_map(*pairs, names, world.num_actions) if len(pairs[0]) else None
