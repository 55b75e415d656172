"""The game's keys <-> latent actions: the key map is fitted one way, the report scores it and play sends it; play
depends on world and controls, never on evaluation."""

import ast
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from genie.checkpoints import record_in_world
from genie.controls.key_controller import KeyController, KeyControllerConfig
from genie.controls.key_controls import KeyControls, fit_key_controller, fit_run_key_map
from genie.controls.key_map import NO_CODE, KeyMap, fit_key_map
from genie.data.token_store import TokenStore
from genie.play.launch import game_keys
from genie.play.settings import PlaySettings

ROOT = Path(__file__).resolve().parents[1]
COINRUN = ["LEFT", "RIGHT", "JUMP", "NOTHING"]


def pairs(counts_EK: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(effect, code) transitions with these counts: int [N] each."""
    effects, codes = np.nonzero(counts_EK)
    reps = counts_EK[effects, codes]
    return np.repeat(effects, reps), np.repeat(codes, reps)


def test_the_key_map_gives_each_effect_its_most_frequent_code():
    counts = np.array([[50, 5, 0, 40, 0],   # LEFT
                       [5, 60, 0, 30, 0],   # RIGHT
                       [0, 0, 20, 10, 0],   # JUMP
                       [10, 10, 5, 200, 0]])  # NOTHING; code 4 is never used
    key_map = fit_key_map(*pairs(counts), COINRUN, num_actions=5)
    assert key_map.codes == [0, 1, 2, 3]
    assert key_map.precision == [round(50 / 65, 3), round(60 / 75, 3), round(20 / 25, 3), round(200 / 280, 3)]
    effects, codes = pairs(counts)
    assert key_map.accuracy(effects, codes) == (50 + 60 + 20 + 200) / counts.sum()


def test_no_code_serves_two_effects_and_the_more_certain_effect_keeps_it():
    counts = np.array([[60, 40, 0],    # LEFT: code 0 in 60 % of its transitions
                       [90, 0, 10],    # RIGHT: code 0 in 90 %: it keeps code 0
                       [0, 0, 0],      # JUMP: never seen
                       [0, 0, 0]])
    key_map = fit_key_map(*pairs(counts), COINRUN, num_actions=3)
    assert key_map.codes == [1, 0, NO_CODE, NO_CODE]  # LEFT falls back to its next code
    assert key_map.browser_keys() == {"ArrowLeft": 1, "ArrowRight": 0}
    assert key_map.no_key_code() is None and key_map.effect_of_code() == {1: 0, 0: 1}
    # an effect takes only codes it came with: where its only code went to another effect, it sends nothing
    assert fit_key_map(*pairs(np.array([[70, 30], [100, 0]])), ["LEFT", "RIGHT"], 2).codes == [1, 0]
    assert sorted(fit_key_map(*pairs(np.array([[10, 0], [100, 0]])), ["LEFT", "RIGHT"], 2).codes) == [NO_CODE, 0]


def walking_token_store(root: Path) -> TokenStore:
    """Keys 0-3 held 4 frames each; the LAM codes a key's first frame STILL (3) and the rest 4 + key."""
    rng = np.random.default_rng(0)
    store = TokenStore.create(root, {"test": "walks"})
    for i in range(6):
        keys = np.repeat(rng.integers(0, 4, 12), 4)[:47]
        first = np.r_[True, keys[1:] != keys[:-1]]
        codes = np.where(first, 3, 4 + keys)
        store.add_episode(f"e{i}", "val" if i >= 4 else "train", rng.integers(0, 8, (48, 4, 4)), codes, keys)
    store.mark_complete()
    return store


def untrained_world(num_actions=8, effect_names=None):
    """What game_keys reads of a world."""
    return SimpleNamespace(num_actions=num_actions, effect_names=effect_names, device=torch.device("cpu"),
                           labelled_fraction=0.0)


def test_play_sends_the_key_map_the_report_scored(tmp_path, capsys):
    store = walking_token_store(tmp_path / "tokens")
    controls = fit_key_controller(store, [0, 1, 2, 3], COINRUN, window=1, num_codes=8, num_actions=8, steps=5)
    assert controls.key_map.codes == [4, 5, 6, 7]  # two frames into each hold: the walking codes, not STILL
    assert controls.metrics["fixed_map_accuracy"] == controls.key_map.accuracy(
        *pairs_of(store, "val")), "the report scores the map it saves"
    controls.save(tmp_path / "run")
    settings = PlaySettings()
    played, keymap, keys = game_keys(untrained_world(), None, settings, settings.keymap(8), tmp_path / "run")
    assert {k: keymap[k] for k in ("ArrowLeft", "ArrowRight", "ArrowUp")} == {"ArrowLeft": 4, "ArrowRight": 5,
                                                                            "ArrowUp": 6}
    assert played.default_action == 7 and settings.default_action == 0  # NOTHING's code; the settings unchanged
    assert keys.effect_of_code == {4: 0, 5: 1, 6: 2, 7: 3}
    assert "the key controller picks" in capsys.readouterr().out


def pairs_of(store: TokenStore, split: str) -> tuple[np.ndarray, np.ndarray]:
    from genie.controls.transitions import LabelledTransitions

    return LabelledTransitions(store, split, 1, np.arange(4), lookahead=2).pairs()


def test_a_run_without_key_controls_gets_the_key_map_fitted_the_same_way(tmp_path):
    store = walking_token_store(tmp_path / "tokens")
    run = tmp_path / "run"
    run.mkdir()
    coinrun = SimpleNamespace(effects=lambda: ([0, 1, 2, 3], COINRUN))
    assert fit_run_key_map(run, untrained_world(), SimpleNamespace(effects=lambda: None)) is None
    record_in_world(run, "tokens", store.root)
    fitted = fit_key_controller(store, [0, 1, 2, 3], COINRUN, window=1, num_codes=8, num_actions=8, steps=0).key_map
    assert fit_run_key_map(run, untrained_world(), coinrun) == fitted
    settings = PlaySettings()
    played, keymap, keys = game_keys(untrained_world(), coinrun, settings, settings.keymap(8), run)
    assert keys is None and keymap["ArrowRight"] == 5 and played.default_action == 7


def test_a_world_that_takes_the_games_effects_gets_each_effect_as_its_action(tmp_path):
    settings = PlaySettings()
    world = untrained_world(num_actions=4, effect_names=COINRUN)
    played, keymap, keys = game_keys(world, None, settings, settings.keymap(4), tmp_path)
    assert keymap == {"ArrowLeft": 0, "ArrowRight": 1, "ArrowUp": 2} and played.default_action == 3
    assert keys is None


def test_key_controls_without_a_key_map_say_how_to_fit_them_again(tmp_path):
    import pytest

    from genie.errors import UserError

    controller = KeyController(KeyControllerConfig(num_codes=8, num_actions=4, window=1))
    controls = KeyControls(controller, KeyMap(["LEFT"], [1], [1.0]), {})
    path = controls.save(tmp_path)
    saved = torch.load(path, weights_only=True)
    del saved["key_map"]
    torch.save(saved, path)
    with pytest.raises(UserError, match="dream.py"):
        KeyControls.load(tmp_path)


def imported_modules(path: Path) -> set[str]:
    """Every module a Python file imports, at any depth (lazy imports inside functions included)."""
    modules = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
            modules |= {f"{node.module}.{alias.name}" for alias in node.names}
    return modules


def test_no_module_of_play_imports_evaluation():
    play = sorted((ROOT / "genie" / "play").rglob("*.py"))
    assert len(play) > 5
    for path in play:
        evaluation = sorted(m for m in imported_modules(path) if m == "genie.eval" or m.startswith("genie.eval."))
        assert not evaluation, f"{path.relative_to(ROOT)} imports {evaluation}: play depends on world and controls"
