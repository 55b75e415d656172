"""The report's typed settings (genie/eval/settings.py): built once from the report group, defaults equal to
report/default.yaml, unknown keys named."""

import dataclasses

import pytest
from omegaconf import OmegaConf

from genie.errors import UserError
from genie.eval.settings import DREAM_COMMAND_KEYS, ReportSettings
from tests.conftest import CONFIGS, compose_train


def as_plain(value):
    if dataclasses.is_dataclass(value):
        return {f.name: as_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return list(value) if isinstance(value, tuple) else value


def test_the_settings_defaults_are_report_default_yaml():
    yaml = OmegaConf.to_container(OmegaConf.load(f"{CONFIGS}/report/default.yaml"))
    assert as_plain(ReportSettings()) == {**yaml, "device": None}


def test_train_yaml_dream_group_builds_the_tiny_settings(tmp_path):
    cfg = compose_train(tmp_path)
    settings = ReportSettings.from_config(OmegaConf.to_container(cfg.dream, resolve=True), device=cfg.device)
    assert settings.steps == 8 and settings.long_play.horizons == (4, 16) and settings.key_controller.steps == 20
    assert settings.key_controller.held_frames == 8  # tiny.yaml keeps what it does not set
    assert settings.device == cfg.device


def test_dream_yaml_builds_the_default_settings():
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=CONFIGS, version_base="1.3"):
        cfg = compose("dream")
    settings = ReportSettings.from_config(OmegaConf.to_container(cfg), ignore=DREAM_COMMAND_KEYS)
    assert dataclasses.replace(settings, device=None) == ReportSettings()


@pytest.mark.parametrize("values, key", [({"stepz": 3}, "dream.stepz"),
                                         ({"long_play": {"startz": 1}}, "dream.long_play.startz"),
                                         ({"key_response": {"levelz": 1}}, "dream.key_response.levelz"),
                                         ({"key_controller": {"stepz": 1}}, "dream.key_controller.stepz")])
def test_an_unknown_report_key_is_one_line_naming_it(values, key):
    with pytest.raises(UserError, match=f"^{key}: unknown report setting") as error:
        ReportSettings.from_config(values)
    assert "\n" not in str(error.value)


def test_train_py_ends_with_the_quick_report_and_dream_py_keeps_the_full_one():
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=CONFIGS, version_base="1.3"):
        cfg = compose("train", overrides=["paths.root_dir=.", "paths.output_dir=."])
    GlobalHydra.instance().clear()
    quick = ReportSettings.from_config(OmegaConf.to_container(cfg.dream, resolve=True))
    full = ReportSettings()
    # shorter checks of what a player sees; the one-step numbers, pictures and key controls are the full report's
    assert quick.long_play.steps < full.long_play.steps and quick.long_play.starts < full.long_play.starts
    assert quick.long_play.classifier_steps == 0 and quick.key_response.levels < full.key_response.levels
    assert quick.rollout_clips < full.rollout_clips
    assert (quick.eval_clips, quick.key_controller, quick.steps) == (full.eval_clips, full.key_controller, full.steps)
