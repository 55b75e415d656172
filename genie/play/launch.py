"""``play(run_dir, settings)``: load the world model of a run and let a person play it, in a browser or a terminal."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from genie.controls.key_controls import KeyControls, fit_run_key_map
from genie.data.store import EpisodeStore
from genie.device import pick_device
from genie.errors import UserError
from genie.play.session import GameKeys
from genie.play.settings import PlaySettings
from genie.runs import open_store_of_run
from genie.world import WorldModel

log = logging.getLogger(__name__)


def open_store(run_dir: Path, world: WorldModel, split: str, override: str | None = None) -> EpisodeStore | None:
    """The run's episode store (or ``override``) if it is there (for held-out start frames); without it play starts
    from a blank frame or an upload."""
    try:
        store = open_store_of_run(run_dir, override)
    except UserError as e:
        print(f"play: no held-out episodes to start from ({e}); upload an image to start")
        return None
    if store.frame_size != world.frame_size:
        raise UserError(f"{store.root}: frames are {store.frame_size}px, the world model of {run_dir} makes "
                        f"{world.frame_size}px")
    if not store.episodes(split):
        print(f"play: {store.root} has no '{split}' episodes (split={split}); upload an image to start")
    return store


def game_keys(world: WorldModel, store: EpisodeStore | None, settings: PlaySettings, keymap: dict[str, int],
              run_dir: Path) -> tuple[PlaySettings, dict[str, int], GameKeys | None]:
    """Arrow keys and space as the game's controls where the run has a key map (genie/controls/key_map.py): the one
    its report fitted and scored with its key controls, else one fitted the same way now on the store's labelled
    train transitions (CoinRun, Atari). Left, right and up send the codes of LEFT, RIGHT and JUMP (or UP), space
    FIRE's, and NOTHING's (or NOOP's) becomes the default action; other keys keep ``keymap``'s actions that are
    left. Where the run has key controls, the key controller picks each frame's code for the key's effect.
    -> (settings with that default action, key map, the key controller's keys or None)."""
    controls = None if world.effect_names is not None else KeyControls.load(run_dir, world.device)
    key_map = controls.key_map if controls is not None else fit_run_key_map(run_dir, world, store)
    grounded = key_map.browser_keys() if key_map is not None else {}
    if not grounded:
        return settings, keymap, None
    if (still := key_map.no_key_code()) is not None:
        settings = replace(settings, default_action=still)
    taken = {*grounded.values(), settings.default_action}
    rest = {k: a for k, a in keymap.items() if k not in grounded and a not in taken}
    source = "the run's key controls" if controls is not None else "fitted on the store's true actions"
    print(f"play: arrow keys and space act as the game's controls ({source}): {key_map.describe()}")
    if controls is None:
        return settings, grounded | rest, None
    print(f"play: the key controller picks each frame's latent action for those keys "
          f"({controls.metrics['controller_accuracy']:.0%} of held-out codes right, the fixed map "
          f"{controls.metrics['fixed_map_accuracy']:.0%})")
    return settings, grounded | rest, GameKeys(controls)


def play(run_dir: Path, settings: dict[str, Any]) -> None:
    """``settings``: the resolved dream config as a plain dict (its ``play`` section and top-level ``split``,
    ``temperature``, ``seed``, ``device``)."""
    cfg = PlaySettings.from_config(settings)
    torch.set_num_threads(cfg.threads)
    world = WorldModel.load(run_dir, pick_device(cfg.device))
    keymap = cfg.keymap(world.num_actions)
    store = open_store(run_dir, world, cfg.split, settings.get("store"))
    cfg = cfg.at_game_speed(store.fps if store is not None else None)
    print(f"play: {run_dir} ({world.num_actions} latent actions, {world.frame_size}px frames, {cfg.fps:g} steps/s)")
    keys_of_game = None
    if cfg.keys is None:
        cfg, keymap, keys_of_game = game_keys(world, store, cfg, keymap, Path(run_dir))
    if cfg.ui == "terminal":
        from genie.play.terminal import run_terminal

        run_terminal(world, store, cfg, keymap, game_keys=keys_of_game)
        return
    from genie.play.server import PlayServer, serve

    if not cfg.is_loopback:
        print(f"play: WARNING listening on {cfg.host}: anyone who can reach this machine can use the server")
    serve(PlayServer(world, store, cfg, keymap, run_name=Path(run_dir).name, game_keys=keys_of_game).app(),
          cfg.host, cfg.port,
          cfg.open_browser)
