"""``play(run_dir, settings)``: load the world model of a run and let a person play it, in a browser or a terminal."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

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


def game_keys(world: WorldModel, store: EpisodeStore, cfg: PlaySettings, keymap: dict[str, int],
              run_dir: Path) -> tuple[dict[str, int], GameKeys | None]:
    """Arrow keys and space as the game's controls where the store's true actions ground the latent codes (CoinRun,
    Atari): left, right and up take the codes of LEFT, RIGHT and JUMP (or UP), space FIRE, and the code of NOTHING
    (or NOOP) becomes ``cfg.default_action`` (genie/eval/controls.py); other keys keep ``keymap``'s actions that
    are left. Where the run has key controls (its report fitted them), those codes stand for their effects and the
    key controller picks each frame's code."""
    from genie.eval.controls import NO_KEY_EFFECTS, ground_controls
    from genie.eval.key_controls import KeyControls

    controls = ground_controls(world, store)
    if not controls or not controls["keys"]:
        return keymap, None
    grounded = controls["keys"]
    for name in NO_KEY_EFFECTS:
        if name in controls["effects"]:
            cfg.default_action = controls["effects"][name]["code"]
    taken = {*grounded.values(), cfg.default_action}
    rest = {k: a for k, a in keymap.items() if k not in grounded and a not in taken}
    print("play: arrow keys and space act as the game's controls, grounded on the store's true actions: " + ", ".join(
        f"{name} = a={g['code']} ({g['precision']:.0%} of its clips)" for name, g in controls["effects"].items()))
    fitted = KeyControls.load(run_dir, world.device)
    if fitted is None:
        return grounded | rest, None
    effect_of_code = {g["code"]: fitted.effect_names.index(name) for name, g in controls["effects"].items()
                      if name in fitted.effect_names}
    print(f"play: the key controller picks each frame's latent action for those keys "
          f"({fitted.metrics['controller_accuracy']:.0%} of held-out codes right, the fixed map "
          f"{fitted.metrics['fixed_map_accuracy']:.0%})")
    return grounded | rest, GameKeys(fitted, effect_of_code)


def play(run_dir: Path, settings: dict[str, Any]) -> None:
    """``settings``: the resolved dream config as a plain dict (its ``play`` section and top-level ``split``,
    ``temperature``, ``seed``, ``device``)."""
    cfg = PlaySettings.from_config(settings)
    torch.set_num_threads(cfg.threads)
    world = WorldModel.load(run_dir, pick_device(cfg.device))
    keymap = cfg.keymap(world.num_actions)
    store = open_store(run_dir, world, cfg.split, settings.get("store"))
    print(f"play: {run_dir} ({world.num_actions} latent actions, {world.frame_size}px frames)")
    keys_of_game = None
    if cfg.keys is None and store is not None:
        keymap, keys_of_game = game_keys(world, store, cfg, keymap, Path(run_dir))
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
