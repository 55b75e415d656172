"""Play a run's world in headless Chromium and take screenshots:

    python scripts/play_screenshot.py <run dir> [docs/play.png]                  # a few seconds, one screenshot
    python scripts/play_screenshot.py <run dir> <out dir> --seconds 60 --shots 0,10,30,60

Serves the world on a free loopback port and opens the page in Debian's chromium. The short form holds two latent
actions in turn so the history and read-outs fill in, then saves a full-page PNG. With ``--seconds`` it plays that
long like a person: a random key (an arrow, space, or none) held for 0.3-1.5 s, then another, and saves
``play_<t>s.png`` at each of ``--shots`` (seconds from the start), with the page's own frame and step counters.
"""

from __future__ import annotations

import argparse
import random
import shutil
import time
from pathlib import Path

import torch
from playwright.sync_api import sync_playwright

from genie.play.launch import game_keys, open_store
from genie.play.server import BackgroundServer, PlayServer
from genie.play.settings import MAPPABLE_KEYS, PlaySettings
from genie.world import WorldModel

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def play_like_a_person(page, seconds: float, shots: list[float], out_dir: Path, seed: int = 0) -> None:
    rng = random.Random(seed)
    start = time.monotonic()
    pending = sorted(shots)
    while pending:
        now = time.monotonic() - start
        if now >= pending[0]:
            page.screenshot(path=str(out_dir / f"play_{int(pending.pop(0))}s.png"), full_page=True)
            continue
        if now >= seconds:
            break
        key = rng.choice([*MAPPABLE_KEYS, None])
        hold = min(rng.uniform(0.3, 1.5), pending[0] - now + 0.05)
        if key:
            page.keyboard.down(key)
        time.sleep(max(hold, 0.05))
        if key:
            page.keyboard.up(key)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir")
    parser.add_argument("out", nargs="?", default="docs/play.png", help="PNG (short form) or a folder (--seconds)")
    parser.add_argument("--seconds", type=float, default=0.0, help="play this long like a person (0: short form)")
    parser.add_argument("--shots", default="0,10,30,60", help="with --seconds: screenshot times in seconds")
    args = parser.parse_args()
    settings = PlaySettings()
    torch.set_num_threads(settings.threads)
    world = WorldModel.load(args.run_dir)
    store = open_store(Path(args.run_dir), world, settings.split)
    keymap = settings.keymap(world.num_actions)
    # the arrow keys as the game's controls, as dream.py mode=play does
    settings, keymap, keys_of_game = game_keys(world, store, settings, keymap, Path(args.run_dir))
    server = PlayServer(world, store, settings, keymap, run_name=Path(args.run_dir).name, game_keys=keys_of_game)
    with BackgroundServer(server.app()) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1180, "height": 900})
        page.goto(url)
        page.wait_for_function("() => window.geniePlay.frames > 30", timeout=60_000)
        out = Path(args.out)
        if args.seconds > 0:
            out.mkdir(parents=True, exist_ok=True)
            play_like_a_person(page, args.seconds, [float(s) for s in args.shots.split(",")], out)
            print(f"frames shown: {page.evaluate('window.geniePlay.frames')}")
        else:
            for key in ("ArrowRight", "ArrowUp", "ArrowRight"):
                page.keyboard.down(key)
                time.sleep(1.0)
                page.keyboard.up(key)
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out), full_page=True)
        browser.close()
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
