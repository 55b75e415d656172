"""The composed training config checked against what reads it, before anything is prepared or trained: a wrong type
or an unknown key in the ``model``, ``data``, ``trainer``, ``budget`` (and ``stage.world``) groups is one line naming
the key and what it expected (``error: model.tokenizer.lr: expected a number, got 'fast' (a string)``), instead of a
traceback from deep inside torch, or a key silently ignored.

The schemas are the code's own: each stage module's constructor and its net's config dataclass (per ``kind``), the
Lightning Trainer's arguments, and for the data sources the TypedDicts below (the YAML files keep the defaults).
"""

from __future__ import annotations

from typing import Any, Literal, Optional, TypedDict

import lightning as L
from hydra.utils import get_class
from lightning.pytorch.strategies import StrategyRegistry
from omegaconf import DictConfig, OmegaConf

from genie.config_types import check_settings, describe, fits, found
from genie.errors import UserError
from genie.models.tokenizer import NETS as TOKENIZER_NETS
from genie.models.world import WorldTrainingModule
from genie.nn.cnn_forecaster import CNNForecasterConfig
from genie.nn.latent_action_net import LatentActionConfig
from genie.nn.maskgit import MaskGITConfig
from genie.training.distributed import launcher_environment

# the net config dataclass of each stage's `kind` (the LAM has one kind)
NET_CONFIGS: dict[str, dict[str | None, type]] = {
    "tokenizer": {kind: config for kind, (_, config) in TOKENIZER_NETS.items()},
    "lam": {None: LatentActionConfig},
    "dynamics": {"cnn": CNNForecasterConfig, "maskgit": MaskGITConfig},
}
STAGES = (*NET_CONFIGS, "world")  # every stage a budget or a callback's `stages` may name


# --- data sources (genie/data/prepare.py reads them) ------------------------------------------------------------------

class DataCommon(TypedDict):
    source: str
    frame_size: int
    num_workers: int
    stream: Optional[str]  # a shard folder streamed by the pixel stages


class SyntheticData(DataCommon):
    episodes: dict[str, int]
    episode_len: int
    seed: int
    path: str


class CoinRunData(DataCommon):
    agent: Literal["random", "expert"]
    frames: dict[str, int]
    levels: dict[str, int]
    max_episode_len: int
    num_envs: int
    sticky: float
    hold: int
    bias: float
    stretch: int
    favour: list[float]
    frameskip: int
    distribution_mode: str
    backgrounds: bool
    seed: int
    path: str


class AtariData(DataCommon):
    game: str
    fit: Literal["stretch", "crop", "letterbox"]
    frames: dict[str, int]
    frameskip: int
    repeat_action_probability: float
    sticky: float
    max_episode_len: int
    seed: int
    path: str


class VideoFolderData(DataCommon):
    path: Optional[str]
    fit: Literal["crop", "letterbox", "stretch"]
    fps: Optional[float]
    min_frames: int
    max_episode_len: int
    split: dict[str, float]
    split_by: Literal["auto", "file", "time"]
    split_gap: int
    on_bad_file: Literal["error", "skip"]
    store: str


class StoreData(DataCommon):
    path: str


DATA_SOURCES: dict[str, type] = {"synthetic": SyntheticData, "coinrun": CoinRunData, "atari": AtariData,
                                 "video_folder": VideoFolderData, "store": StoreData}


# --- the checks -------------------------------------------------------------------------------------------------------

def check_config(cfg: DictConfig) -> None:
    """UserError listing every problem (``; ``-separated, one line) of the model, data, trainer, budget,
    stage.world, callbacks' stages and tags settings."""
    problems = [*model_problems(cfg), *data_problems(cfg), *trainer_problems(cfg), *budget_problems(cfg),
                *callback_problems(cfg)]
    if not fits(tags := resolved(cfg.get("tags", [])), list[str]):
        problems.append(f"tags: expected {describe(list[str])}, got {found(tags)}: e.g. tags=[ablation,lr]")
    if problems:
        raise UserError("; ".join(problems))


def resolved(node: Any) -> Any:
    return OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else node


def model_problems(cfg: DictConfig) -> list[str]:
    problems = []
    for stage, nets in NET_CONFIGS.items():
        settings = resolved(cfg.model[stage])
        module = get_class(settings["_target_"])
        problems += check_settings(f"model.{stage}", settings, module, module.__name__)
        kind = settings.get("kind")
        net = nets.get(kind) if isinstance(kind, str) or kind is None else None
        if net is not None and isinstance(settings.get("net"), dict):
            what = f"the {kind} {stage} net ({net.__name__})" if kind else f"the {stage} net ({net.__name__})"
            problems += check_settings(f"model.{stage}.net", settings["net"], net, what)
    world = cfg.stage.get("world")
    if world is not None:
        problems += check_settings("stage.world", resolved(world), WorldTrainingModule, "the world stage",
                                   ignore=("tokenizer", "lam", "dynamics"))
    return problems


def data_problems(cfg: DictConfig) -> list[str]:
    data = resolved(cfg.data)
    schema = DATA_SOURCES.get(data.get("source"))
    if schema is None:
        return [f"data.source: expected one of {', '.join(map(repr, DATA_SOURCES))}, got {data.get('source')!r}"]
    problems = check_settings("data", data, schema, f"the {data['source']} data source", ignore=())
    missing = [key for key in schema.__required_keys__ if key not in data]
    return problems + [f"data.{key}: missing (the {data['source']} data source needs it)" for key in missing]


def trainer_problems(cfg: DictConfig) -> list[str]:
    """``trainer``: Trainer arguments; a null is left for ``budget.<stage>`` to fill (genie/training/stage_trainer)."""
    trainer = {k: v for k, v in resolved(cfg.trainer).items() if v is not None}
    problems = check_settings("trainer", trainer, L.Trainer, "the Lightning Trainer")
    strategy = trainer.get("strategy")
    if starts_its_own_processes(strategy) and launcher_environment() is not None:
        # each launched rank would start ranks of its own, and every one of them waits for peers that never come
        problems.append(f"trainer.strategy={strategy}: starts its own processes, but torchrun / srun already started "
                        "this run's ranks; use trainer=ddp (docs/scaling.md)")
    return problems


def starts_its_own_processes(strategy: Any) -> bool:
    """A registered strategy whose launcher spawns or forks the ranks (ddp_spawn, ddp_fork, ddp_notebook, ...)."""
    if not isinstance(strategy, str) or strategy not in StrategyRegistry:
        return False
    return StrategyRegistry[strategy]["init_params"].get("start_method") in ("spawn", "fork")


def budget_problems(cfg: DictConfig) -> list[str]:
    """``budget.<stage>``: the stage's batch_size and Trainer arguments."""
    problems = []
    for stage, budget in resolved(cfg.budget).items():
        if stage not in STAGES:
            problems.append(f"budget.{stage}: not a stage (stages: {', '.join(STAGES)})")
        elif not isinstance(budget, dict):
            problems.append(f"budget.{stage}: expected a mapping of batch_size and Trainer arguments, "
                            f"got {found(budget)}")
        else:
            problems += check_settings(f"budget.{stage}", budget, L.Trainer,
                                       "the Lightning Trainer (nor batch_size)", ignore=("batch_size",))
            if not fits(budget.get("batch_size", 1), int):
                problems.append(f"budget.{stage}.batch_size: expected {describe(int)}, "
                                f"got {found(budget['batch_size'])}")
    return problems


def callback_problems(cfg: DictConfig) -> list[str]:
    """``callbacks.<name>.stages``: the stages that callback is given to (genie/training/stage_trainer.py)."""
    problems = []
    for name, callback in (cfg.get("callbacks") or {}).items():
        chosen = resolved(callback.get("stages")) if OmegaConf.is_dict(callback) else None
        if chosen is None:
            continue
        if not fits(chosen, list[str]):
            problems.append(f"callbacks.{name}.stages: expected a list of stages, got {found(chosen)}: "
                            f"e.g. callbacks.{name}.stages=[dynamics]")
        elif unknown := [s for s in chosen if s not in STAGES]:
            problems.append(f"callbacks.{name}.stages: {', '.join(map(repr, unknown))} not a stage "
                            f"(stages: {', '.join(STAGES)})")
    return problems
