"""Typed configs: a wrong type or an unknown key in the model, data, trainer and budget groups is one line naming the
key and what it expected (genie/training/config_check.py); every option of every group passes; the code's defaults are
the YAML's."""

import dataclasses
import inspect
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hydra.utils import get_class
from omegaconf import OmegaConf

from genie.errors import UserError
from genie.models.optim import WarmupCosine
from genie.training.config_check import NET_CONFIGS, check_config
from tests.conftest import CONFIGS, compose_train

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_a_wrong_type_typed_on_the_command_line_is_one_line_naming_the_key(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "train.py"), "model.tokenizer.lr=fast"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == ["error: model.tokenizer.lr: expected a number, got 'fast' (a string)"]
    assert not (tmp_path / "data").exists()  # stopped before preparing anything


@pytest.mark.parametrize("override, message", [
    ("model.tokenizer.warmup_steps=1.5", "model.tokenizer.warmup_steps: expected an int, got 1.5 (float)"),
    ("+model.lam.lrr=0.1", "model.lam.lrr: not a setting of LAMModule (its settings: net, frame_size, lr,"),
    ("model.tokenizer.net.stem=3", "model.tokenizer.net.stem: expected a string, got 3 (int)"),
    ("+model.dynamics.net.hiden=3", "model.dynamics.net.hiden: not a setting of the cnn dynamics net "
                                    "(CNNForecasterConfig)"),
    ("model.lam.net.warp=maybe", "model.lam.net.warp: expected true/false, got 'maybe' (a string)"),
    ("data.frame_size=big", "data.frame_size: expected an int, got 'big' (a string)"),
    ("+data.levels=3", "data.levels: not a setting of the synthetic data source (its settings: source,"),
    ("data.source=dvd", "data.source: expected one of 'synthetic', 'coinrun', 'atari', 'video_folder', 'store', "
                        "got 'dvd'"),
    ("trainer.devices=1.5", "trainer.devices: expected a list of ints or a string or an int, got 1.5 (float)"),
    ("+trainer.max_step=5", "trainer.max_step: not a setting of the Lightning Trainer"),
    ("budget.lam.batch_size=big", "budget.lam.batch_size: expected an int, got 'big' (a string)"),
    ("budget.tokenizer.max_steps=many", "budget.tokenizer.max_steps: expected an int, got 'many' (a string)"),
    ("+budget.tokenizer.lr=1", "budget.tokenizer.lr: not a setting of the Lightning Trainer (nor batch_size)"),
    ("+budget.tokeniser={batch_size: 4}", "budget.tokeniser: not a stage (stages: tokenizer, lam, dynamics, world)"),
    ("tags=dev", "tags: expected a list of strings, got 'dev' (a string): e.g. tags=[ablation,lr]"),
    ("+callbacks.lr_monitor.stages=[dynamic]", "callbacks.lr_monitor.stages: 'dynamic' not a stage (stages: "
                                               "tokenizer, lam, dynamics, world)"),
    ("+callbacks.lr_monitor.stages=dynamics", "callbacks.lr_monitor.stages: expected a list of stages, got "
                                              "'dynamics' (a string): e.g. callbacks.lr_monitor.stages=[dynamics]"),
])
def test_each_group_names_the_key_and_what_it_expected(tmp_path, override, message):
    with pytest.raises(UserError) as raised:
        check_config(compose_train(tmp_path, override))
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


def test_a_coinrun_choice_checks_against_the_coinrun_schema(tmp_path):
    with pytest.raises(UserError, match=r"^data\.agent: expected one of 'random', 'expert', got 'robot'"):
        check_config(compose_train(tmp_path, "data=coinrun", "data.agent=robot"))


def test_a_spawning_strategy_under_torchrun_is_one_line_not_a_hang(tmp_path, monkeypatch):
    cfg = compose_train(tmp_path, "trainer=ddp_sim")
    check_config(cfg)  # alone, ddp_spawn starts the ranks itself
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "job")  # what torchrun sets for each rank it starts
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(UserError, match=r"^trainer\.strategy=ddp_spawn: starts its own processes.*use trainer=ddp"):
        check_config(cfg)
    with pytest.raises(UserError, match=r"^trainer\.strategy=ddp_fork: starts its own processes"):
        check_config(compose_train(tmp_path, "trainer=ddp_sim", "trainer.strategy=ddp_fork"))
    check_config(compose_train(tmp_path, "trainer=ddp", "trainer.accelerator=cpu"))  # the documented torchrun line


OPTIONS = [f"{path.parent.relative_to(CONFIGS)}={path.stem}" for group in ("data", "model", "trainer", "experiment")
           for path in sorted((Path(CONFIGS) / group).rglob("*.yaml"))]


@pytest.mark.parametrize("option", OPTIONS)
def test_every_option_of_every_group_passes(tmp_path, option):
    check_config(compose_train(tmp_path, option))


# --- one source of defaults (issue #26 item 4) ------------------------------------------------------------------------

def yaml_defaults(path: Path) -> dict:
    """The literal values of a YAML file (interpolations left out: they are another config's value)."""
    raw = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
    return {k: v for k, v in raw.items() if not (isinstance(v, str) and "${" in v)}


def code_default(value):
    return list(value) if isinstance(value, tuple) else value


DEFAULT_MODELS = ["model/tokenizer/conv_vqvae.yaml", "model/lam/conv.yaml", "model/dynamics/cnn.yaml"]


@pytest.mark.parametrize("option", DEFAULT_MODELS)
def test_a_module_built_without_arguments_is_the_default_options(option):
    settings = yaml_defaults(Path(CONFIGS) / option)
    parameters = inspect.signature(get_class(settings.pop("_target_"))).parameters
    settings.pop("net")
    assert settings == {k: parameters[k].default for k in settings}


NET_YAMLS = {  # each net config dataclass and the YAML that configures it
    "model/tokenizer/conv_vqvae.yaml": NET_CONFIGS["tokenizer"]["conv"],
    "model/tokenizer/st_vivit.yaml": NET_CONFIGS["tokenizer"]["st_vivit"],
    "model/lam/conv.yaml": NET_CONFIGS["lam"][None],
    "model/dynamics/cnn.yaml": NET_CONFIGS["dynamics"]["cnn"],
    "model/dynamics/maskgit.yaml": NET_CONFIGS["dynamics"]["maskgit"],
}


@pytest.mark.parametrize("option", list(NET_YAMLS))
def test_every_net_config_default_is_its_yamls(option):
    net = yaml_defaults(Path(CONFIGS) / option)["net"]
    literal = {k: v for k, v in net.items() if not (isinstance(v, str) and "${" in v)}
    defaults = {f.name: code_default(f.default) for f in dataclasses.fields(NET_YAMLS[option])}
    assert literal == {k: defaults[k] for k in literal}


def test_the_optimizer_and_scheduler_groups_keep_the_codes_defaults():
    adamw = yaml_defaults(Path(CONFIGS) / "optimizer" / "adamw.yaml")
    torch_defaults = inspect.signature(torch.optim.AdamW).parameters
    assert adamw["betas"] == list(torch_defaults["betas"].default) and adamw["eps"] == torch_defaults["eps"].default
    schedule = yaml_defaults(Path(CONFIGS) / "scheduler" / "warmup_cosine.yaml")
    parameters = inspect.signature(WarmupCosine).parameters
    keys = ("final", "max_gap_s")
    assert {k: schedule[k] for k in keys} == {k: parameters[k].default for k in keys}
