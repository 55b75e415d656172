"""Optional extras (docs/install.md): a command-line choice whose Hydra plugin is not installed stops with one line
naming the extra; the gym notice procgen triggers never reaches the log."""

import importlib.util
import subprocess
import sys

import pytest

from genie.cli import require_extras
from genie.errors import UserError


@pytest.fixture
def no_plugins(monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name.startswith("hydra_plugins.") else find_spec(name, *a))


@pytest.mark.parametrize("override, extra", [
    ("hparams_search=tokenizer_optuna", "sweeps"), ("hydra/sweeper=optuna", "sweeps"),
    ("hydra/launcher=slurm", "slurm"),
])
def test_a_choice_whose_plugin_is_missing_names_the_extra_to_install(no_plugins, override, extra):
    with pytest.raises(UserError, match=rf"^{override} needs the '{extra}' extra: pip install -e \"\.\[{extra}\]\""):
        require_extras(["-m", override, "debug=tiny"])


def test_other_choices_need_no_extra(no_plugins):
    require_extras(["-m", "hparams_search=null", "debug=tiny", "seed=1,2", "hydra/launcher=basic"])


def test_with_the_extras_installed_every_choice_passes():
    require_extras(["hparams_search=tokenizer_optuna", "hydra/launcher=slurm"])


@pytest.mark.slow
def test_importing_procgen_after_the_entry_points_settings_prints_no_gym_notice():
    pytest.importorskip("procgen")
    done = subprocess.run([sys.executable, "-c", "import genie.cli, procgen"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "Gym has been unmaintained" not in done.stderr + done.stdout
