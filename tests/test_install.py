"""A non-editable install works away from the checkout: the wheel carries the configs, and a user's own config
directory joins them through Hydra's search path.

The wheel goes into a scratch venv without its dependencies; a ``.pth`` file there lists this project's
site-packages after the venv's own, so torch & co. are found without reinstalling them, and ``genie`` is the
installed copy (the checkout's editable hook lives in a ``.pth`` of that directory, which only its own interpreter
reads).
"""

import json
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.artefacts import metrics_file

ROOT = Path(__file__).resolve().parents[1]
USER_EXPERIMENT = "# @package _global_\nseed: 7\n"


def run(*command, cwd, timeout=300):
    result = subprocess.run([str(c) for c in command], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{command}:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def build_wheel(tmp: Path) -> Path:
    """The wheel of a copy of the sources (the build leaves build/ and *.egg-info/ in the copy, not the checkout)."""
    source = tmp / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "genie", source / "genie", ignore=shutil.ignore_patterns("__pycache__"))
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", source, "-w", tmp / "dist",
        cwd=tmp)
    (wheel,) = (tmp / "dist").glob("mini_genie-*.whl")
    return wheel


def install_in_scratch_venv(wheel: Path, venv: Path) -> Path:
    """``venv/bin``, holding the console scripts of ``wheel``; dependencies come from this interpreter's
    site-packages."""
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=venv.parent)
    python = venv / "bin" / "python"
    venv_site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=venv).strip())
    (venv_site / "project_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "-q", wheel, cwd=venv.parent)
    return venv / "bin"


@pytest.mark.slow
def test_installed_genie_train_runs_in_any_directory_with_a_user_config_dir(tmp_path):
    bin_dir = install_in_scratch_venv(build_wheel(tmp_path), tmp_path / "venv")
    work = tmp_path / "elsewhere"
    (work / "my_configs" / "experiment").mkdir(parents=True)
    (work / "my_configs" / "experiment" / "mine.yaml").write_text(USER_EXPERIMENT)

    imported = run(bin_dir / "python", "-c", "import genie; print(genie.__file__)", cwd=work).strip()
    assert Path(imported).is_relative_to(tmp_path / "venv"), imported

    run(bin_dir / "genie-train", "debug=tiny", "logger=none", "experiment=mine",
        f"hydra.searchpath=[file://{work / 'my_configs'}]", cwd=work)
    (run_dir,) = (work / "runs").iterdir()
    world = json.loads((run_dir / "world.json").read_text())
    assert {"tokenizer", "lam", "dynamics", "data"} <= set(world)
    assert Path(world["data"]).is_relative_to(work / "data")
    assert "seed: 7" in (run_dir / ".hydra" / "config.yaml").read_text().splitlines()
    metrics_file(run_dir / "dream" / "metrics.json", "dynamics/psnr_next", "lam/codes_used")
