"""The play server over real HTTP and WebSockets (aiohttp's test client): sessions per tab, the JSON API, its 4xx
answers to bad requests, downloads, and what it refuses to serve."""

from __future__ import annotations

import asyncio
import io
import json

import aiohttp
import imageio.v3 as iio
import numpy as np
import pytest
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image

from genie.data.store import EpisodeInfo, StoreError
from genie.play.server import PlayServer
from genie.play.settings import PlaySettings
from play_worlds import scripted_world


def serve(world, store, **settings):
    """Run ``check(client)`` against a fresh server: ``serve(...)(check)``."""
    play = PlaySettings(fps=60, preview_steps=2, **settings)

    def run(check):
        async def main():
            app = PlayServer(world, store, play, play.keymap(world.num_actions), run_name="test-run").app()
            async with TestClient(TestServer(app)) as client:
                await check(client)

        asyncio.run(main())

    return run


async def open_tab(client: TestClient):
    """A WebSocket like the page's; returns (socket, session id)."""
    ws = await client.ws_connect("/ws")
    hello = await ws.receive_json(timeout=10)
    assert hello["type"] == "hello"
    return ws, hello["session"]


async def next_stats(ws, count: int = 1) -> list[dict]:
    """The stats of the next ``count`` frames (each frame is its RGB bytes, then its stats)."""
    stats, frame_seen = [], False
    while len(stats) < count:
        message = await ws.receive(timeout=10)
        if message.type == aiohttp.WSMsgType.BINARY:
            frame_seen = True
        elif message.type == aiohttp.WSMsgType.TEXT:
            data = json.loads(message.data)
            if data["type"] == "frame" and frame_seen:
                stats.append(data)
        else:
            raise AssertionError(f"socket ended: {message}")
    return stats


async def messages_until(ws, kind: str, **fields) -> dict:
    """The next JSON message of type ``kind`` (with these ``fields``)."""
    while True:
        message = await ws.receive(timeout=20)
        if message.type == aiohttp.WSMsgType.TEXT:
            data = json.loads(message.data)
            if data["type"] == kind and fields.items() <= data.items():
                return data


def png(width=40, height=40) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((height, width, 3), 200, np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


# ------------------------------------------------------------------ page and assets
def test_the_page_and_its_assets_are_served_with_a_strict_content_policy(world, store):
    async def check(client):
        page = await client.get("/")
        assert page.status == 200 and "mini-genie" in await page.text()
        assert "default-src 'self'" in page.headers["Content-Security-Policy"]
        for name, kind in [("play.js", "text/javascript"), ("play.css", "text/css")]:
            asset = await client.get(f"/static/{name}")
            assert asset.status == 200 and asset.content_type == kind
        info = await (await client.get("/api/info")).json()
        assert info["num_actions"] == world.num_actions and info["frame_size"] == world.frame_size
        assert info["episodes"] and info["keys"] and info["run"] == "test-run"

    serve(world, store)(check)


@pytest.mark.parametrize("path", [
    "/static/server.py", "/static/../server.py", "/static/..%2Fserver.py", "/static/%2e%2e/%2e%2e/world.py",
    "/../genie/world.py", "/static/", "/etc/passwd", "/static/index.html%00.py",
])
def test_nothing_outside_the_pages_own_assets_is_served(world, store, path):
    async def check(client):
        response = await client.get(path)
        assert response.status == 404
        assert "import" not in await response.text()

    serve(world, store)(check)


def test_requests_from_other_sites_or_foreign_host_names_are_refused(world, store):
    async def check(client):
        evil = await client.post("/api/sessions/x/action", json={"action": 1}, headers={"Origin": "http://evil.test"})
        assert evil.status == 403 and "origin" in (await evil.json())["error"]
        rebound = await client.get("/api/info", headers={"Host": "evil.test:80"})
        assert rebound.status == 403 and "host" in (await rebound.json())["error"]

    serve(world, store)(check)


# ------------------------------------------------------------------ sessions
def test_a_tab_gets_frames_and_acts_with_the_action_it_holds(world, store):
    async def check(client):
        ws, session = await open_tab(client)
        start = await messages_until(ws, "start")
        assert start["source"] == "episode"
        previews = await messages_until(ws, "previews")
        assert len(previews["images"]) == world.num_actions
        assert all(image.startswith("data:image/gif;base64,") for image in previews["images"])
        frame = await ws.receive_bytes(timeout=10)
        assert len(frame) == world.frame_size**2 * 3
        held = await client.post(f"/api/sessions/{session}/action", json={"action": 1})
        assert held.status == 200 and (await held.json())["held"] == 1
        assert {s["action"] for s in (await next_stats(ws, 8))[-3:]} == {1}
        await client.post(f"/api/sessions/{session}/action", json={"action": None})
        stats = (await next_stats(ws, 8))[-1]
        assert stats["action"] == 0 and stats["held"] is None and stats["model_steps_per_second"] > 0
        await ws.close()

    serve(world, store)(check)


def test_two_tabs_have_their_own_sessions():
    world = scripted_world()

    async def check(client):
        (ws_a, a), (ws_b, b) = await open_tab(client), await open_tab(client)
        assert a != b
        await client.post(f"/api/sessions/{a}/action", json={"action": 1})
        await client.post(f"/api/sessions/{b}/action", json={"action": 3})
        stats_a, stats_b = await next_stats(ws_a, 10), await next_stats(ws_b, 10)
        assert stats_a[-1]["action"] == 1 and stats_b[-1]["action"] == 3
        steps_a = stats_a[-1]["step"]
        await ws_b.close()
        assert (await next_stats(ws_a))[0]["step"] > steps_a  # tab a plays on when tab b leaves
        assert (await client.post(f"/api/sessions/{b}/action", json={"action": 1})).status == 404
        await ws_a.close()

    serve(world, None)(check)


def test_bad_requests_get_a_4xx_with_a_clear_message_and_the_server_keeps_serving(world, store):
    async def check(client):
        ws, session = await open_tab(client)
        api = f"/api/sessions/{session}"
        cases = [
            (client.post(f"{api}/action", json={"action": 99}), 400, "unknown latent action"),
            (client.post(f"{api}/action", json={"action": "left"}), 400, "unknown latent action"),
            (client.post(f"{api}/action", json={}), 400, "expected"),
            (client.post(f"{api}/action", data=b"{not json"), 400, "JSON object"),
            (client.post(f"{api}/action", json=[1]), 400, "JSON object"),
            (client.post("/api/sessions/nope/action", json={"action": 1}), 404, "no session 'nope'"),
            (client.post(f"{api}/reset", json={"source": "disk"}), 400, "unknown source"),
            (client.post(f"{api}/reset", json={"source": "episode", "episode": "nope"}), 400, "no such"),
            (client.post(f"{api}/reset", json={"source": "episode", "episode": store.episodes("test")[0].name,
                                               "frame": 10**6}), 400, "has frames"),
            (client.get(f"{api}/recording.avi"), 404, "unknown format"),
            (client.get("/api/nothing"), 404, "Not Found"),
        ]
        for request, status, message in cases:
            response = await request
            assert response.status == status, await response.text()
            assert message in (await response.json())["error"]
        assert await next_stats(ws)  # still streaming
        assert (await client.get("/api/info")).status == 200
        await ws.close()

    serve(world, store)(check)


def test_uploads_start_the_session_or_are_refused_with_400_or_413(world, store):
    async def check(client):
        ws, session = await open_tab(client)
        url = f"/api/sessions/{session}/upload"

        def form(data: bytes, name: str, frame: str | None = None) -> aiohttp.FormData:
            body = aiohttp.FormData()
            body.add_field("file", data, filename=name, content_type="application/octet-stream")
            if frame is not None:
                body.add_field("frame", frame)
            return body

        ok = await client.post(url, data=form(png(), "level.png"))
        assert ok.status == 200 and (await ok.json())["source"] == "upload"
        assert (await messages_until(ws, "start", source="upload"))["file"] == "level.png"
        for data, name, frame, status, message in [
            (b"GIF89a garbage", "x.gif", None, 400, "not an image or a video"),
            (png(), "../../etc/passwd", None, 400, "contains a path"),
            (png(), "level.png", "two", 400, "not an integer"),
            (b"\0" * (3 * 2**20), "big.png", None, 413, "upload limit"),
        ]:
            response = await client.post(url, data=form(data, name, frame))
            assert response.status == status, await response.text()
            assert message in (await response.json())["error"]
        not_multipart = await client.post(url, data=b"raw")
        assert not_multipart.status == 400 and "multipart" in (await not_multipart.json())["error"]
        assert (await client.get("/api/info")).status == 200
        await ws.close()

    serve(world, store, max_upload_mb=1)(check)


def test_a_tab_downloads_its_session_as_gif_and_mp4():
    world = scripted_world()  # every frame differs from the last (a GIF merges repeated frames)

    async def check(client):
        ws, session = await open_tab(client)
        await next_stats(ws, 5)
        gif = await client.get(f"/api/sessions/{session}/recording.gif")
        assert gif.status == 200 and gif.content_type == "image/gif"
        assert "attachment" in gif.headers["Content-Disposition"]
        frames = iio.imread(await gif.read(), index=None)
        assert len(frames) >= 6 and frames.shape[1] == world.frame_size * 2
        mp4 = await client.get(f"/api/sessions/{session}/recording.mp4")
        assert mp4.status == 200 and (await mp4.read())[4:8] == b"ftyp"
        await ws.close()

    serve(world, None, scale=2)(check)


def test_reset_goes_back_to_the_last_start_or_to_a_chosen_episode_frame(world, store):
    async def check(client):
        ws, session = await open_tab(client)
        episode = store.episodes("test")[0]
        chosen = await client.post(f"/api/sessions/{session}/reset",
                                   json={"source": "episode", "episode": episode.name, "frame": 3})
        assert (await chosen.json()) == {"type": "start", "source": "episode", "episode": episode.name, "frame": 3}
        again = await client.post(f"/api/sessions/{session}/reset", json={"source": "again"})
        assert (await again.json())["frame"] == 3
        await ws.close()

    serve(world, store)(check)


def test_tabs_beyond_the_limit_are_told_to_close_one():
    async def check(client):
        ws, _ = await open_tab(client)
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.ws_connect("/ws")
        assert refused.value.status == 503
        await ws.close()

    serve(scripted_world(), None, max_sessions=1)(check)


class BrokenStore:
    """A store whose episode file has gone missing."""

    root = "broken-store"
    fps = 15.0

    def episodes(self, split=None):
        return [EpisodeInfo("ep", 10, "test")]

    def frames(self, name):
        raise StoreError("broken-store/episodes/ep.frames.npy: episode file missing")


def test_a_tab_is_told_when_there_is_no_start_frame_to_be_had():
    async def check(client):
        ws, _ = await open_tab(client)
        message = await ws.receive_json(timeout=10)
        assert message == {"type": "error", "message": "broken-store/episodes/ep.frames.npy: episode file missing"}
        assert (await ws.receive(timeout=10)).type == aiohttp.WSMsgType.CLOSE
        assert (await client.get("/api/info")).status == 200

    serve(scripted_world(), BrokenStore())(check)
