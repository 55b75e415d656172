"""One builder per stage: what the stage reads from earlier stages, its data and its module.

Each builder takes the run's ``RunInputs`` and returns a ``StageSetup`` (module + datamodule). The values every stage
must agree on are derived once: the frame size from the store, the token grid and codebook from the tokenizer,
``num_actions`` from the LAM (``dynamics_shape``); each model's history window is its own config's
(``model.<stage>.net.window``, by default the top-level ``window``) and its clip length is the module's ``clip_len``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import lightning as L
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from genie.checkpoints import check_compatible, load_module, record_in_world
from genie.data.datamodule import ClipDataModule
from genie.data.store import EpisodeStore
from genie.device import pick_device
from genie.errors import UserError
from genie.models.dynamics import DynamicsModule
from genie.models.tokenizer import TokenizerModule
from genie.models.world import WorldTrainingModule
from genie.training.distributed import is_rank_zero, rank_zero_first
from genie.training.tokenize import build_token_store


@dataclass
class RunInputs:
    cfg: DictConfig
    run_dir: Path
    store: EpisodeStore
    components: dict[str, str]  # stage -> checkpoint trained or reused so far

    def needs(self, stage: str, *earlier: str) -> None:
        for needed in earlier:
            if needed not in self.components:
                raise UserError(f"stage {stage} needs a {needed}: train it in this run (stage.stages=[..., {needed}, "
                                f"{stage}]) or pass run.{needed}=<run dir or .ckpt>")


@dataclass
class StageSetup:
    module: L.LightningModule
    datamodule: ClipDataModule


def clip_data(inputs: RunInputs, stage: str, module: L.LightningModule, root: Path, kind: str) -> ClipDataModule:
    cfg = inputs.cfg
    stream = cfg.data.get("stream") if kind == "pixels" else None  # dynamics reads the token store it encoded
    balance = module.action_balance() if isinstance(module, DynamicsModule) else None
    return ClipDataModule(str(root), kind, module.clip_len, cfg.budget[stage].batch_size, cfg.data.num_workers,
                          cfg.eval_stride, stream, balance)


def module_settings(model_cfg: DictConfig, overrides: dict[str, Any]) -> dict[str, Any]:
    """The module's keyword arguments: the config's, with ``overrides`` laid over (``net`` entries merged)."""
    settings = OmegaConf.to_container(model_cfg, resolve=True)
    settings.pop("_target_", None)
    net = {**settings.get("net", {}), **overrides.get("net", {})}
    return {**settings, **overrides, "net": net}


def build_module(model_cfg: DictConfig, overrides: dict[str, Any]) -> L.LightningModule:
    # not recursive: the optimizer / scheduler configs reach the module as they are (instantiated when it trains)
    return instantiate({"_target_": model_cfg._target_, **module_settings(model_cfg, overrides)}, _convert_="all",
                       _recursive_=False)


def lam_overrides(inputs: RunInputs) -> dict[str, Any]:
    """The store's frame size and, for a LAM that learns from a few labels, what the store's actions do."""
    overrides = {"frame_size": inputs.store.frame_size}
    if inputs.cfg.model.lam.labelled_fraction > 0:
        effects = inputs.store.effects()
        if effects is None:
            raise UserError(f"model.lam.labelled_fraction: the store {inputs.store.root} has no true actions to "
                            "learn from (CoinRun and Atari stores have them); set it to 0")
        overrides["effect_of_action"], overrides["effect_names"] = map(list, effects)
    return overrides


def dynamics_shape(inputs: RunInputs, tokenizer: TokenizerModule, num_actions: int) -> dict[str, Any]:
    """What a dynamics model must agree on with its tokenizer and LAM."""
    return {
        "frame_size": inputs.store.frame_size,
        "token_grid": tokenizer.token_grid,
        "net": {"num_codes": tokenizer.net.num_codes, "num_actions": num_actions},
    }


def build_tokenizer(inputs: RunInputs) -> StageSetup:
    module = build_module(inputs.cfg.model.tokenizer, {"frame_size": inputs.store.frame_size})
    return StageSetup(module, clip_data(inputs, "tokenizer", module, inputs.store.root, "pixels"))


def build_lam(inputs: RunInputs) -> StageSetup:
    module = build_module(inputs.cfg.model.lam, lam_overrides(inputs))
    return StageSetup(module, clip_data(inputs, "lam", module, inputs.store.root, "pixels"))


def build_dynamics(inputs: RunInputs) -> StageSetup:
    """Dynamics trains on the store encoded once by its tokenizer and LAM (a token store, cached: token_store_path)."""
    inputs.needs("dynamics", "tokenizer", "lam")
    tokenizer = load_module(inputs.components["tokenizer"], "tokenizer")
    lam = load_module(inputs.components["lam"], "lam")
    check_compatible(tokenizer, lam, None, inputs.store.frame_size, inputs.components)
    header = {"store": str(inputs.store.root), "tokenizer": inputs.components["tokenizer"],
              "lam": inputs.components["lam"]}
    tokens_dir = token_store_path(inputs.cfg, inputs.store, header)
    with rank_zero_first():
        build_token_store(inputs.store, tokenizer.net, lam.net, tokens_dir, header, pick_device(inputs.cfg.device))
    if is_rank_zero():
        record_in_world(inputs.run_dir, "tokens", tokens_dir)
    overrides = dynamics_shape(inputs, tokenizer, lam.net.num_actions)
    if inputs.cfg.model.dynamics.action_source == "game":
        overrides = true_action_overrides(inputs, overrides)
    module = build_module(inputs.cfg.model.dynamics, overrides)
    return StageSetup(module, clip_data(inputs, "dynamics", module, tokens_dir, "tokens"))


def true_action_overrides(inputs: RunInputs, overrides: dict[str, Any]) -> dict[str, Any]:
    """A dynamics model conditioned on the game's true actions: one action per effect of the store's buttons."""
    effects = inputs.store.effects()
    if effects is None:
        raise UserError(f"model.dynamics.action_source=game: the store {inputs.store.root} does not say what its "
                        "true actions do (CoinRun and Atari stores do)")
    effect_of_action, effect_names = effects
    net = {**overrides["net"], "num_actions": len(effect_names)}
    return {**overrides, "net": net, "effect_of_action": list(effect_of_action), "effect_names": list(effect_names)}


def build_world(inputs: RunInputs) -> StageSetup:
    """The LAM and dynamics model of ``model.lam`` / ``model.dynamics``, co-trained on this run's frozen tokenizer."""
    inputs.needs("world", "tokenizer")
    cfg = inputs.cfg
    tokenizer = load_module(inputs.components["tokenizer"], "tokenizer")
    check_compatible(tokenizer, None, None, inputs.store.frame_size, inputs.components)
    module = WorldTrainingModule(
        tokenizer={"kind": tokenizer.hparams.kind, "net": tokenizer.hparams.net},
        lam=module_settings(cfg.model.lam, lam_overrides(inputs)),
        dynamics=module_settings(cfg.model.dynamics, dynamics_shape(inputs, tokenizer, cfg.model.lam.net.num_actions)),
        **OmegaConf.to_container(cfg.stage.world, resolve=True),
    )
    module.tokenizer.load_state_dict(tokenizer.net.state_dict())
    return StageSetup(module, clip_data(inputs, "world", module, inputs.store.root, "pixels"))


BUILDERS: dict[str, Callable[[RunInputs], StageSetup]] = {
    "tokenizer": build_tokenizer, "lam": build_lam, "dynamics": build_dynamics, "world": build_world,
}
EARLIER_STAGES = {"tokenizer": (), "lam": ("tokenizer",), "dynamics": ("tokenizer", "lam"), "world": ("tokenizer",)}


def token_store_path(cfg: DictConfig, store: EpisodeStore, header: dict[str, str]) -> Path:
    """Token stores are cached under ``paths.data_dir/tokens``, keyed by the store and the exact checkpoints
    (path, size, mtime), so every dynamics run on the same tokenizer + LAM reuses one encoding."""
    stamp = [header["store"]] + [f"{p}:{Path(p).stat().st_size}:{Path(p).stat().st_mtime_ns}"
                                 for p in (header["tokenizer"], header["lam"])]
    digest = hashlib.sha1("|".join(stamp).encode()).hexdigest()[:12]
    return Path(cfg.paths.data_dir) / "tokens" / f"{store.root.name}_{digest}"
