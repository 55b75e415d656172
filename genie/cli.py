"""What the entry points share: process-wide settings (environment, one clean log), OmegaConf resolvers, and turning
user errors into one clear line."""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import logging
import os
import re
import secrets
import sys
from pathlib import Path

from omegaconf import OmegaConf

from genie.clean_log import one_log
from genie.errors import UserError
from genie.precision import cpu_precision

os.environ.setdefault("WANDB_SILENT", "true")
# OpenMP threads that spin while waiting make a 2-thread run 6x slower as soon as anything else uses a core
# (VQ-VAE step: 1.98 s vs 0.31 s beside one busy process); on an idle machine passive waiting costs nothing
# (0.157 vs 0.163 s). Must be set before torch starts its OpenMP runtime.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def hide_gym_notice() -> None:
    """Procgen (CoinRun) imports the old ``gym``, which prints an 'unmaintained' notice to stderr at import; the
    project uses Gymnasium everywhere else, so the notice only clutters the log. It comes from gym_notices' table,
    emptied here before anything imports gym."""
    try:
        from gym_notices import notices
    except ImportError:  # no gym (CoinRun is Linux x86-64 only)
        return
    notices.notices.clear()


hide_gym_notice()
one_log()


def register_resolvers() -> None:
    if not OmegaConf.has_resolver("uid"):
        # cached: one value per process, so every `${uid:}` of a run agrees
        OmegaConf.register_new_resolver("uid", lambda: secrets.token_hex(3), use_cache=True)
    if not OmegaConf.has_resolver("run_id"):
        from genie.training.distributed import run_id

        OmegaConf.register_new_resolver("run_id", run_id, use_cache=True)
    if not OmegaConf.has_resolver("cpu_precision"):
        OmegaConf.register_new_resolver("cpu_precision", cpu_precision, use_cache=True)
    if not OmegaConf.has_resolver("cwd"):
        # the launch directory: Hydra never changes it (job.chdir false), and unlike ${hydra:runtime.cwd} it resolves
        # before Hydra has set its config, which a multirun's sweep dir needs
        OmegaConf.register_new_resolver("cwd", os.getcwd, use_cache=True)
    if not OmegaConf.has_resolver("basename"):
        OmegaConf.register_new_resolver("basename", lambda path: Path(str(path)).name)
    if not OmegaConf.has_resolver("path_key"):
        OmegaConf.register_new_resolver("path_key", path_key)


def path_key(path: str | None) -> str:
    """A short file-name-safe key for a folder: its name and a hash of its absolute path, e.g. ``clips-3f9a1c0b``
    (a cache named after it changes when the folder does)."""
    if path is None:
        return "none"
    resolved = Path(str(path)).expanduser().resolve()
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", resolved.name)[:40] or "root"
    return f"{name}-{hashlib.sha1(str(resolved).encode()).hexdigest()[:8]}"


# Command-line choices whose Hydra plugin comes with an optional extra (pyproject.toml, docs/install.md):
# (key, its value or None for any, the plugin's module, the extra)
PLUGIN_CHOICES = (
    ("hparams_search", None, "hydra_plugins.hydra_optuna_sweeper", "sweeps"),
    ("hydra/sweeper", "optuna", "hydra_plugins.hydra_optuna_sweeper", "sweeps"),
    ("hydra/launcher", "slurm", "hydra_plugins.hydra_submitit_launcher", "slurm"),
)


def require_extras(overrides: list[str]) -> None:
    """UserError naming the extra to install when a command-line choice needs a Hydra plugin that is not installed
    (without it Hydra fails with a page about its search path)."""
    for override in overrides:
        key, _, value = override.partition("=")
        for choice, wanted, module, extra in PLUGIN_CHOICES:
            if key.lstrip("+~") == choice and value not in ("", "null") and wanted in (None, value):
                if importlib.util.find_spec(module) is None:
                    raise UserError(f"{override} needs the '{extra}' extra: pip install -e \".[{extra}]\" "
                                    f"(or pip install \"mini-genie[{extra}]\"); see docs/install.md")


def user_errors_exit(main):
    """Print a UserError as ``error: <message>`` and exit 2, without a traceback."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except UserError as e:
            logging.getLogger("genie").error("%s", e)
            print(f"error: {e}", file=sys.stderr)
            sys.exit(2)

    return wrapper
