"""Screenshot of the play page for the docs: `python scripts/play_screenshot.py <run dir> [docs/play.png]`.

Serves the run's world on a free loopback port, opens the page in headless Debian chromium, plays a few seconds
(holding two latent actions in turn so the history and read-outs fill in) and saves a full-page PNG.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import torch
from playwright.sync_api import sync_playwright

from genie.play.launch import open_store
from genie.play.server import BackgroundServer, PlayServer
from genie.play.settings import PlaySettings
from genie.world import WorldModel

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def main(run_dir: str, out: str = "docs/play.png") -> None:
    settings = PlaySettings()
    torch.set_num_threads(settings.threads)
    world = WorldModel.load(run_dir)
    store = open_store(Path(run_dir), world, settings.split)
    server = PlayServer(world, store, settings, settings.keymap(world.num_actions), run_name=Path(run_dir).name)
    with BackgroundServer(server.app()) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1180, "height": 900})
        page.goto(url)
        page.wait_for_function("() => window.geniePlay.frames > 30", timeout=60_000)
        for key in ("ArrowRight", "ArrowUp", "ArrowRight"):
            page.keyboard.down(key)
            time.sleep(1.0)
            page.keyboard.up(key)
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=out, full_page=True)
        browser.close()
    print(f"wrote {out}")


if __name__ == "__main__":
    main(*sys.argv[1:])
