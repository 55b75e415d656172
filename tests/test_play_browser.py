"""End to end in headless Chromium (Debian's ``chromium``, driven by Playwright): the page opens, streams frames,
and keys and buttons act. ``make test`` installs chromium where apt-get can; elsewhere this module is skipped."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from genie.play.server import BackgroundServer, PlayServer
from genie.play.settings import PlaySettings
from play_worlds import scripted_world

pytestmark = pytest.mark.slow  # Chromium

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install -e '.[dev]'")
CHROMIUM = shutil.which("chromium")
if CHROMIUM is None:
    pytest.skip("no chromium on PATH: `apt-get install -y chromium` (make test does this where apt-get works)",
                allow_module_level=True)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SIZE = 32  # the scripted world's frames; action a changes rows 8a..8a+7 (tests/play_worlds.py)


@pytest.fixture()
def page():
    world = scripted_world(num_actions=4, frame_size=SIZE)
    settings = PlaySettings(fps=30, preview_steps=3, default_action=0)
    server = PlayServer(world, None, settings, settings.keymap(world.num_actions), run_name="browser-test")
    with BackgroundServer(server.app()) as url, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(url)
            page.wait_for_function("() => window.geniePlay.frames > 3", timeout=15_000)
            yield page
            assert not errors, errors
        finally:
            browser.close()


def canvas(page) -> np.ndarray:
    """The view's pixels: uint8 [SIZE, SIZE, 3]."""
    rgba = page.evaluate(f"Array.from(document.getElementById('view').getContext('2d')"
                         f".getImageData(0, 0, {SIZE}, {SIZE}).data)")
    return np.array(rgba, np.uint8).reshape(SIZE, SIZE, 4)[..., :3]


def hold_from_start(page, key: str, action: int) -> np.ndarray:
    """Hold ``key`` until the server acts with ``action``, restart from the same start (R), and return the view
    after a few frames dreamed under that action alone."""
    page.keyboard.down(key)
    page.wait_for_function(f"() => window.geniePlay.last.held === {action}", timeout=5_000)
    starts = page.evaluate("window.geniePlay.starts")
    page.keyboard.press("r")
    page.wait_for_function(f"() => window.geniePlay.starts > {starts} && "
                           f"window.geniePlay.last.step >= window.geniePlay.startStep + 4", timeout=10_000)
    assert page.evaluate("window.geniePlay.last.action") == action
    view = canvas(page)
    page.keyboard.up(key)
    return view


def changed_rows(a: np.ndarray, b: np.ndarray) -> set[int]:
    return set(np.nonzero((a != b).any(axis=(1, 2)))[0].tolist())


def test_keys_drive_the_dream_and_two_actions_give_different_frames(page):
    first = canvas(page)
    page.wait_for_function("() => window.geniePlay.frames > 8")
    assert changed_rows(first, canvas(page)), "frames do not change"

    by_digit = hold_from_start(page, "2", action=1)  # key 2 = latent action 1
    by_arrow = hold_from_start(page, "ArrowLeft", action=2)  # default key map: ← = the second non-default action
    rows = changed_rows(by_digit, by_arrow)
    assert rows and rows <= set(range(8, 24))  # only the bands of actions 1 and 2 differ

    page.wait_for_function("() => window.geniePlay.last.held === null")
    history = page.locator("#history .chip").all_inner_texts()
    assert {"1", "2"} <= set(history)
    assert float(page.inner_text("#page-fps")) > 0 and float(page.inner_text("#model-rate")) > 0


def test_on_screen_buttons_hold_an_action_and_previews_show_every_action(page):
    page.wait_for_function("() => [...document.querySelectorAll('#previews img')]"
                           ".every(img => img.src.startsWith('data:'))")
    assert page.locator("#previews .tile").count() == 4
    button = page.locator("#buttons .action").nth(3)
    button.hover()
    page.mouse.down()
    page.wait_for_function("() => window.geniePlay.last.action === 3", timeout=5_000)
    page.mouse.up()
    page.wait_for_function("() => window.geniePlay.last.action === 0", timeout=5_000)


def test_the_key_map_can_be_changed_on_the_page(page):
    page.locator("#previews select").nth(3).select_option("Space")
    page.keyboard.down("Space")
    page.wait_for_function("() => window.geniePlay.last.held === 3", timeout=5_000)
    page.keyboard.up("Space")
    assert "space = a=3" in page.inner_text("#help")
