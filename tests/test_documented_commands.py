"""Every command in README.md and docs/**/*.md runs as typed (issue #25 item 1).

The commands are read from the documents' ```bash blocks, one a line (``#`` starts a comment). Placeholders
(``runs/<A>``, ``<stage>``, ``$HOME/videos``, ``trainer.devices=N`` ...) become a value of their kind; nothing else is
added. Then:

- fast: every ``python train.py`` / ``dream.py`` / ``prepare.py``, ``genie-*``, ``torchrun``/``srun``/``make demo``
  line composes with the real configs and its own overrides (each value of a ``-m`` grid; an Optuna preset's first
  trial), resolves, and passes the config check; ``benchmarks``/``scripts`` commands name a file that exists and
  flags its argparse defines; ``make`` targets, ``pip install`` extras and pytest markers exist.
- slow: the documented multiruns run end to end in another folder, at ``debug=tiny`` where the command trains (the
  tokenizer Optuna preset runs in tests/test_sweeps.py), and so do the documented smoke-size runs, exactly as typed.
"""

from __future__ import annotations

import ast
import itertools
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ValueType
from omegaconf import DictConfig, OmegaConf, open_dict

from genie.cli import require_extras
from genie.errors import UserError
from genie.training.config_check import check_config, data_problems
from tests.conftest import CONFIGS

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
BASH_BLOCK = re.compile(r"^[ \t]*```bash[ \t]*\n(.*?)^[ \t]*```", re.M | re.S)
# a line that names one of this project's programs; every such line must be understood, never skipped
PROJECT_NAME = re.compile(r"\b(train|dream|prepare)\.py\b|\bgenie-|\bbenchmarks\b|\bscripts/|genie\.commands")
PYTHON = {"python", "python3", ".venv/bin/python"}
# the Hydra apps, and the config each composes
APPS = {"train.py": "train", "dream.py": "dream", "prepare.py": "prepare", "genie.commands.shard": "shard",
        **{name: target.split(".")[-1].split(":")[0] for name, target in PYPROJECT["project"]["scripts"].items()}}


# --- the commands the documents show ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Command:
    page: Path
    line: int
    text: str  # as typed, without its comment

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def documented_commands(page: Path) -> list[Command]:
    text = page.read_text(encoding="utf-8")
    commands = []
    for block in BASH_BLOCK.finditer(text):
        first_line = text.count("\n", 0, block.start(1)) + 1
        for offset, line in enumerate(block.group(1).splitlines()):
            if typed := without_comment(line):
                commands.append(Command(page, first_line + offset, typed))
    return commands


def without_comment(line: str) -> str:
    """The line up to a ``#`` that starts a word outside quotes, as the shell reads it."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].strip()
    return line.strip()


COMMANDS = [command for page in PAGES for command in documented_commands(page)]


# --- placeholders: each becomes a value of its kind -------------------------------------------------------------------

PLACEHOLDERS = [  # (pattern, the key of its value); the first match wins, so longer forms come first
    (r"runs/<[^>]+>", "run"),  # runs/<A>, runs/<that run>, runs/<data=atari run>
    (r"<run>|<run dir>|<that world>", "run"),
    (r"<stage>", "stage"),
    (r"data/<store>", "store"),
    (r"\$HOME/videos", "videos"),
    (r"\$PWD", "cwd"),
    (r"<out dir>", "out"),
    (r"<partition>", "partition"),
    (r"<job>", "job"),
    (r"<host of node 0>", "host"),
    (r"(?<==)[NM]\b", "count"),  # trainer.devices=N, --nproc_per_node=N, trainer.num_nodes=M
]


def placeholders(text: str) -> set[str]:
    """The kinds of value ``text`` needs: ``{"run", "stage"}`` for ``ckpt_path=runs/<A>/checkpoints/<stage>/...``."""
    return {key for pattern, key in PLACEHOLDERS if re.search(pattern, text)}


def substitute(text: str, values: dict[str, str]) -> str:
    for pattern, key in PLACEHOLDERS:
        text = re.sub(pattern, lambda _: values[key], text)
    left = re.findall(r"<[^>]*>|\$\w+", text)
    assert not left, f"placeholders with no value in this test: {left} (add them to PLACEHOLDERS)"
    return text


# --- what a command is ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Parsed:
    kind: str  # hydra | benchmark | script | make | install | pytest
    program: str  # the config a Hydra app composes, the file a benchmark or script is, the make target ...
    args: tuple[str, ...]
    launcher: str = ""  # how a Hydra app is started: python | genie | torchrun | srun | make


def parse(text: str) -> Parsed | None:
    """What the shell line ``text`` runs, or None when it is not a command of this project (``pip install torch``)."""
    argv = shlex.split(text, comments=True)
    while argv and re.fullmatch(r"[A-Z_]+=\S*", argv[0]):  # OMP_NUM_THREADS=1 python ...
        argv = argv[1:]
    launcher = ""
    if argv[0] == "srun":
        launcher, argv = "srun", argv[1:]
    if argv[0] == "torchrun":
        script = next(i for i, arg in enumerate(argv) if arg.endswith(".py"))
        launcher, argv = "torchrun", ["python", *argv[script:]]
    if argv[0] == "make" and len(argv) > 1:
        assignments = dict(arg.split("=", 1) for arg in argv[2:] if "=" in arg)
        if argv[1] == "demo":  # demo: $(PY) train.py $(ARGS)
            return Parsed("hydra", "train", tuple(shlex.split(assignments.get("ARGS", ""))), "make")
        return Parsed("make", argv[1], tuple(argv[2:]))
    if argv[0] in APPS:
        return Parsed("hydra", APPS[argv[0]], tuple(argv[1:]), "genie")
    if argv[0] == "pip" and argv[1] == "install":
        return Parsed("install", "pip", tuple(argv[2:])) if any(is_this_project(a) for a in argv[2:]) else None
    if argv[0] in PYTHON and argv[1] == "-m":
        module, args = argv[2], tuple(argv[3:])
        if module == "pytest":
            return Parsed("pytest", module, args)
        if module in APPS:
            return Parsed("hydra", APPS[module], args, launcher or "python")
        return Parsed("benchmark", module.replace(".", "/") + ".py", args)
    if argv[0] in PYTHON:
        script, args = argv[1], tuple(argv[2:])
        if script in APPS:
            return Parsed("hydra", APPS[script], args, launcher or "python")
        return Parsed("benchmark" if script.startswith("benchmarks/") else "script", script, args)
    return None


def is_this_project(requirement: str) -> bool:
    return requirement.split("[")[0] in (".", PYPROJECT["project"]["name"])


def parsed(command: Command) -> Parsed:
    result = parse(command.text)
    assert result is not None, f"{command.where}: not a command of this project: {command.text}"
    return result


def of_kind(*kinds: str) -> list[Command]:
    return [c for c in COMMANDS if (p := parse(c.text)) is not None and p.kind in kinds]


def ids(command: Command) -> str:
    return command.where


def test_the_documents_show_commands_and_every_line_naming_a_program_of_this_project_is_understood():
    assert len(of_kind("hydra")) > 40
    unread = [c.where for c in COMMANDS if PROJECT_NAME.search(c.text) and parse(c.text) is None]
    assert not unread, f"lines naming this project's programs that the test cannot read: {unread}"


# --- fast: Hydra commands compose, resolve and pass the config check --------------------------------------------------

@pytest.fixture(scope="module")
def fast_values(tmp_path_factory) -> dict[str, str]:
    """Placeholder values for composing: composing reads no file, so the run, store and video folders are folders
    of that name and layout (the slow tests below run on a trained run)."""
    tmp = tmp_path_factory.mktemp("placeholders")
    run = tmp / "runs" / "2026-01-01_00-00-00_abcdef"
    for stage in ("tokenizer", "lam", "dynamics"):
        (run / "checkpoints" / stage).mkdir(parents=True)
    (tmp / "my_configs" / "experiment").mkdir(parents=True)  # docs/configuration.md, "Installed commands"
    (tmp / "my_configs" / "experiment" / "mine.yaml").write_text("# @package _global_\nseed: 7\n")
    for folder in ("data/synthetic_store", "videos", "out"):
        (tmp / folder).mkdir(parents=True)
    return {"run": str(run), "stage": "lam", "store": str(tmp / "data" / "synthetic_store"),
            "videos": str(tmp / "videos"), "cwd": str(tmp), "out": str(tmp / "out"), "partition": "gpu", "job": "1",
            "host": "127.0.0.1", "count": "2"}


def grid(overrides: list[str]) -> list[list[str]]:
    """A ``-m`` command's jobs, as Hydra's basic sweeper makes them: every combination of the comma lists."""
    choices = []
    for override in OverridesParser.create().parse_overrides(overrides):
        key = override.get_key_element()
        if override.is_sweep_override():
            choices.append([f"{key}={value}" for value in override.sweep_string_iterator()])
        else:
            choices.append([override.input_line])
    return [list(job) for job in itertools.product(*choices)]


def first_trial(cfg: DictConfig) -> list[str]:
    """The overrides an Optuna preset's sweeper adds to its first trial: one value of each searched parameter."""
    params = OmegaConf.to_container(cfg.hydra.sweeper.get("params") or {}, resolve=False)
    trial = []
    for override in OverridesParser.create().parse_overrides([f"{k}={v}" for k, v in params.items()]):
        sweep = override.value()
        value = sweep.start if override.value_type == ValueType.INTERVAL_SWEEP else next(
            override.sweep_string_iterator())
        trial.append(f"{override.get_key_element()}={value}")
    return trial


def job_config(config: str, overrides: list[str], multirun: bool) -> DictConfig:
    """The config a job of this command gets: composed, with the job settings Hydra fills in at launch."""
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=CONFIGS, version_base="1.3"):
            cfg = compose(config, overrides=overrides, return_hydra_config=True)
    finally:
        GlobalHydra.instance().clear()
    with open_dict(cfg):
        cfg.hydra.job.num = 0
        cfg.hydra.runtime.output_dir = (f"{cfg.hydra.sweep.dir}/{cfg.hydra.sweep.subdir}" if multirun
                                        else str(cfg.hydra.run.dir))
    return cfg


@contextmanager
def hydra_job(cfg: DictConfig):
    """``${hydra:...}`` resolves, as inside a launched job."""
    HydraConfig.instance().set_config(cfg)
    try:
        yield
    finally:
        HydraConfig.instance().cfg = None


def check_job(config: str, overrides: list[str], multirun: bool, trial: bool = False) -> None:
    """Compose, resolve (an interpolation to a missing key fails here) and check the job's config; for an Optuna
    preset, its first trial's too."""
    cfg = job_config(config, overrides, multirun)
    with hydra_job(cfg):
        OmegaConf.to_container(DictConfig({k: v for k, v in cfg.items() if k != "hydra"}), resolve=True)
        for node in ("sweeper", "launcher"):
            OmegaConf.to_container(cfg.hydra[node], resolve=True)
        if config == "train":
            check_config(cfg)
        elif "data" in cfg and (problems := data_problems(cfg)):
            raise UserError("; ".join(problems))
    if config == "train" and multirun and not trial and cfg.hydra.sweeper.get("params"):
        check_job(config, [*overrides, *first_trial(cfg)], multirun, trial=True)


@pytest.mark.parametrize("command", of_kind("hydra"), ids=ids)
def test_each_documented_hydra_command_composes_with_the_real_configs(command, fast_values):
    app = parse(substitute(command.text, fast_values))
    multirun = bool({"-m", "--multirun"} & set(app.args))
    overrides = [arg for arg in app.args if arg not in ("-m", "--multirun")]
    assert not [arg for arg in overrides if arg.startswith("-")], f"{command.where}: a flag Hydra does not take"
    try:
        require_extras(overrides)
    except UserError as missing:
        pytest.skip(str(missing))
    for job in grid(overrides) if multirun else [overrides]:
        try:
            check_job(app.program, job, multirun)
        except Exception as e:  # noqa: BLE001 - the message is the finding
            pytest.fail(f"{command.where}: `{command.text}` does not compose ({' '.join(job)}):\n"
                        f"{type(e).__name__}: {e}")


# --- fast: benchmarks, scripts, make, pip, pytest ---------------------------------------------------------------------

def argparse_flags(script: Path) -> set[str]:
    """The ``--flags`` a script's ``add_argument`` calls define (``--no-x`` too for BooleanOptionalAction)."""
    flags = set()
    for node in ast.walk(ast.parse(script.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_argument":
            names = [a.value for a in node.args if isinstance(a, ast.Constant) and str(a.value).startswith("-")]
            negatable = any(isinstance(k.value, ast.Attribute) and k.value.attr == "BooleanOptionalAction"
                            for k in node.keywords if k.arg == "action")
            flags |= set(names) | {f"--no-{n[2:]}" for n in names if negatable}
    return flags


@pytest.mark.parametrize("command", of_kind("benchmark", "script"), ids=ids)
def test_each_documented_benchmark_or_script_exists_and_takes_the_flags_shown(command):
    program = parsed(command)
    script = ROOT / program.program
    assert script.is_file(), f"{command.where}: {program.program} does not exist"
    passed = {arg.split("=")[0] for arg in program.args if arg.startswith("--")}
    unknown = passed - argparse_flags(script)
    assert not unknown, f"{command.where}: {program.program} has no {sorted(unknown)}"


@pytest.mark.parametrize("command", of_kind("make"), ids=ids)
def test_each_documented_make_target_exists(command):
    targets = re.findall(r"^([A-Za-z][\w-]*):", (ROOT / "Makefile").read_text(encoding="utf-8"), re.M)
    target = parsed(command).program
    assert target in targets, f"{command.where}: the Makefile has no target {target}"


@pytest.mark.parametrize("command", of_kind("install"), ids=ids)
def test_each_documented_install_names_extras_and_files_that_exist(command):
    args = list(parsed(command).args)
    for i, arg in enumerate(args):
        if arg == "-c":
            assert (ROOT / args[i + 1]).is_file(), f"{command.where}: no {args[i + 1]}"
        elif is_this_project(arg) and "[" in arg:
            extras = set(arg.split("[")[1].rstrip("]").split(","))
            unknown = extras - set(PYPROJECT["project"]["optional-dependencies"])
            assert not unknown, f"{command.where}: pyproject.toml has no extra {sorted(unknown)}"


@pytest.mark.parametrize("command", of_kind("pytest"), ids=ids)
def test_each_documented_pytest_marker_is_registered(command):
    args = list(parsed(command).args)
    markers = {m.split(":")[0] for m in PYPROJECT["tool"]["pytest"]["ini_options"]["markers"]}
    for i, arg in enumerate(args):
        if arg == "-m":
            named = set(re.findall(r"\w+", args[i + 1])) - {"and", "or", "not"}
            assert named <= markers, f"{command.where}: unregistered markers {sorted(named - markers)}"


# --- slow: the documented multiruns and smoke runs, end to end, in another folder -------------------------------------

RUN_ELSEWHERE = {  # a documented multirun that another test runs, or that needs a cluster (it still composes above)
    "hparams_search=tokenizer_optuna": "tests/test_sweeps.py runs it at debug=tiny, typed twice (a resumed study)",
    "hydra/launcher=slurm": "needs a SLURM cluster",
}


def multiruns() -> list:
    """Each documented ``-m`` command of train.py or genie-train once (the same sweep shown on two pages runs once)."""
    seen, params = set(), []
    for command in of_kind("hydra"):
        app = parse(command.text)
        if app.program != "train" or app.launcher not in ("python", "genie") or "-m" not in app.args:
            continue
        key = (app.launcher, substitute(" ".join(app.args), {key: key for _, key in PLACEHOLDERS}))
        if key not in seen:
            seen.add(key)
            why = [reason for choice, reason in RUN_ELSEWHERE.items() if choice in app.args]
            params.append(pytest.param(command, id=command.where, marks=[pytest.mark.skip(why[0])] if why else []))
    return params


def smoke_runs() -> list[Command]:
    """The documented single runs at smoke-test sizes (``debug=tiny``, ``report=tiny``): seconds as typed."""
    typed = [(c, parse(c.text)) for c in of_kind("hydra")]
    return [c for c, app in typed if app.launcher in ("python", "genie") and "-m" not in app.args
            and {"debug=tiny", "report=tiny"} & set(app.args)]


def run_as_typed(command: Command, cwd: Path, request, *added: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    """Run ``command`` the way a user types it in ``cwd`` (plus ``added``): ``python train.py`` with the checkout's
    script there, ``genie-*`` as pip installed it beside this interpreter; a run placeholder is a copy of the tiny
    trained run under ``cwd/runs/``."""
    needs = placeholders(command.text)
    assert needs <= {"run"}, f"{command.where}: no value for {needs - {'run'}} in this test"
    values = {}
    if needs:
        trained = request.getfixturevalue("trained_run")
        shutil.copytree(trained, cwd / "runs" / trained.name)  # a run may write into itself (dream/eval.json)
        values["run"] = f"runs/{trained.name}"
    app = parse(substitute(command.text, values))
    if app.launcher == "genie":
        program = [str(Path(sys.executable).parent / f"genie-{app.program}")]
    else:
        shutil.copy(ROOT / f"{app.program}.py", cwd / f"{app.program}.py")
        program = [sys.executable, f"{app.program}.py"]
    args = [*app.args, *added]
    done = subprocess.run([*program, *args], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{command.where}: {' '.join(args)}\n{done.stderr[-3000:]}"
    return done, args


@pytest.mark.slow
@pytest.mark.parametrize("command", multiruns())
def test_each_documented_multirun_runs_as_typed_at_debug_tiny(command, tmp_path, request):
    added = [] if "debug=tiny" in command.text.split() else ["debug=tiny"]  # the bar: tiny where they train
    optuna = "hparams_search=" in command.text
    if optuna:
        added.append("hydra.sweeper.n_trials=1")  # what a user types to shorten a sweep (the presets run 16 trials)
    _, args = run_as_typed(command, tmp_path, request, *added)

    (sweep,) = (tmp_path / "runs").glob("multirun_*")  # runs/ under the folder the command was typed in
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir())
    expected = 1 if optuna else len(grid([a for a in args if a != "-m"]))
    assert [p.name for p in jobs] == [str(n) for n in range(expected)], f"{command.where}: jobs {jobs}"
    for job in jobs:
        assert (job / "world.json").is_file(), f"{command.where}: {job} has no world.json"
    if optuna:
        assert (sweep / "optimization_results.yaml").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("command", smoke_runs(), ids=ids)
def test_each_documented_smoke_run_runs_exactly_as_typed(command, tmp_path, request):
    run_as_typed(command, tmp_path, request)
    assert list((tmp_path / "runs").glob("*/world.json")), f"{command.where}: no run under {tmp_path / 'runs'}"
