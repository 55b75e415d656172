"""The local play server (aiohttp): the page, its assets, a JSON API and one WebSocket per browser tab.

Routes (every error is JSON ``{"error": message}`` with a 4xx status; the server keeps serving):

    GET  /                                   the page
    GET  /static/{name}                      one of the page's own assets (an allow-list read at start-up)
    GET  /api/info                           the world (actions, frame size, key map, target rate) and episodes
    GET  /ws                                 a new session: its frames stream here while the socket is open
    POST /api/sessions/{id}/action           {"action": k | null}: hold latent action k (null: release)
    POST /api/sessions/{id}/reset            {"source": "again"}: back to the last start; {"source": "random"}:
                                             a random held-out frame; {"source": "episode", "episode": name,
                                             "frame": t}: that frame (with the frames before it as history)
    POST /api/sessions/{id}/upload           multipart "file" (image or video) [+ "frame"]: start from it
    POST /api/sessions/{id}/previews         recompute each action's preview from the current frame
    GET  /api/sessions/{id}/recording.{gif|mp4}   the session so far, as a download

Each tab's session lives as long as its WebSocket. Requests whose Host is not this machine (DNS rebinding) or whose
Origin is another site are refused, so a web page elsewhere cannot drive the local server.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import numpy as np
from aiohttp import web

from genie.data.store import EpisodeStore
from genie.errors import UserError
from genie.play import recording
from genie.play.loop import StepLoop
from genie.play.session import GameKeys, PlaySession
from genie.play.settings import PlaySettings
from genie.play.starts import UploadTooLarge, any_start, episode_context, read_upload
from genie.world import WorldModel

log = logging.getLogger(__name__)

CONTENT_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; connect-src 'self'; "
                               "style-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def static_assets() -> dict[str, tuple[bytes, str]]:
    """The page's files, read once: name -> (bytes, content type). Nothing else is ever served from disk."""
    assets = {}
    for entry in files("genie.play").joinpath("static").iterdir():
        suffix = "." + entry.name.rsplit(".", 1)[-1]
        if entry.is_file() and suffix in CONTENT_TYPES:
            assets[entry.name] = (entry.read_bytes(), CONTENT_TYPES[suffix])
    return assets


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.update(SECURITY_HEADERS)


def error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


@dataclass
class Player:
    """One tab: its session, its socket, the loop streaming the one to the other, and the loop's task."""

    session: PlaySession
    ws: web.WebSocketResponse
    loop: StepLoop
    task: asyncio.Task | None = None
    last_start: tuple[np.ndarray, dict[str, Any]] | None = None  # for "reset": start frames and their source


class PlayServer:
    def __init__(self, world: WorldModel, store: EpisodeStore | None, settings: PlaySettings, keymap: dict[str, int],
                 run_name: str = "", game_keys: GameKeys | None = None):
        self.settings = settings.at_game_speed(store.fps if store is not None else None)
        self.world, self.store, self.keymap = world, store, keymap
        self.game_keys = game_keys
        self.run_name = run_name
        self.assets = static_assets()
        self.players: dict[str, Player] = {}
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="genie-play-model")
        self.rng = np.random.default_rng(settings.seed)

    # ------------------------------------------------------------------ app
    def app(self) -> web.Application:
        # Room for a multipart envelope around an upload at the limit; larger bodies get a 413 from the middleware.
        app = web.Application(client_max_size=self.settings.max_upload_bytes + 64 * 1024,
                              middlewares=[self.guard, self.json_errors])
        app.on_response_prepare.append(add_security_headers)
        app.add_routes([
            web.get("/", self.index),
            web.get("/static/{name}", self.static),
            web.get("/api/info", self.info),
            web.get("/ws", self.websocket),
            web.post("/api/sessions/{id}/action", self.action),
            web.post("/api/sessions/{id}/reset", self.reset),
            web.post("/api/sessions/{id}/upload", self.upload),
            web.post("/api/sessions/{id}/previews", self.previews),
            web.get("/api/sessions/{id}/recording.{fmt}", self.recording),
        ])
        app.on_shutdown.append(self.close_all)
        app.on_cleanup.append(self.stop_executor)
        return app

    @web.middleware
    async def guard(self, request: web.Request, handler) -> web.StreamResponse:
        """Refuse foreign Host headers (DNS rebinding) and cross-site Origins."""
        if self.settings.is_loopback and request.host.rsplit(":", 1)[0] not in LOOPBACK_NAMES:
            return error(403, f"host {request.host!r} refused: this server answers only on this machine")
        origin = request.headers.get("Origin")
        if origin is not None and origin.split("://", 1)[-1] != request.host:
            return error(403, f"origin {origin!r} refused: only the play page itself may call this server")
        return await handler(request)

    @web.middleware
    async def json_errors(self, request: web.Request, handler) -> web.StreamResponse:
        """UserError -> 400 (413 for uploads over the limit), HTTP errors -> JSON, anything else -> logged 500."""
        try:
            return await handler(request)
        except UploadTooLarge as e:
            return error(413, str(e))
        except UserError as e:
            return error(400, str(e))
        except web.HTTPRequestEntityTooLarge:
            return error(413, f"request over the upload limit of {self.settings.max_upload_mb:g} MiB "
                              "(play.max_upload_mb)")
        except web.HTTPException as e:
            if e.status < 400:
                raise
            return error(e.status, e.text or e.reason)
        except Exception:
            log.exception("play: request %s %s failed", request.method, request.path)
            return error(500, "internal error (see the server's log)")

    # ------------------------------------------------------------------ page
    async def index(self, request: web.Request) -> web.Response:
        body, content_type = self.assets["index.html"]
        return web.Response(body=body, content_type=content_type)

    async def static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in self.assets:
            return error(404, f"no asset {name!r}")
        body, content_type = self.assets[name]
        return web.Response(body=body, content_type=content_type)

    async def info(self, request: web.Request) -> web.Response:
        episodes = [] if self.store is None else self.store.episodes(self.settings.split)
        return web.json_response({
            "run": self.run_name,
            "num_actions": self.world.num_actions,
            "frame_size": self.world.frame_size,
            "window": self.world.window,
            "fps": self.settings.fps,
            "scale": self.settings.scale,
            "default_action": self.settings.default_action,
            "keys": self.keymap,
            "key_controller": self.game_keys is not None,
            "max_upload_mb": self.settings.max_upload_mb,
            "record_frames": self.settings.record_frames,
            "episodes": [{"name": e.name, "length": e.length} for e in episodes],
        })

    # ------------------------------------------------------------------ sessions
    async def websocket(self, request: web.Request) -> web.StreamResponse:
        if len(self.players) >= self.settings.max_sessions:
            return error(503, f"already serving {len(self.players)} tabs (play.max_sessions); close one")
        ws = web.WebSocketResponse(heartbeat=30)
        await ws.prepare(request)
        session_id = secrets.token_urlsafe(8)
        session = PlaySession(self.world, self.settings.default_action, self.settings.temperature,
                              self.settings.seed, self.settings.record_frames, game_keys=self.game_keys)
        player = Player(session, ws, StepLoop(session, self.executor, self.settings.fps, ws))
        self.players[session_id] = player
        log.info("play: session %s opened (%d open)", session_id, len(self.players))
        try:
            await ws.send_json({"type": "hello", "session": session_id})
            await self.start(player, *self.random_start())
            player.task = asyncio.create_task(self.stream(player))
            async for _ in ws:  # commands come over HTTP; the socket only carries frames out
                pass
        except UserError as e:  # no start frame to be had (e.g. a broken episode file): tell the page
            await ws.send_json({"type": "error", "message": str(e)})
            await ws.close()
        finally:
            if player.task is not None:
                player.task.cancel()
            del self.players[session_id]
            log.info("play: session %s closed", session_id)
        return ws

    async def stream(self, player: Player) -> None:
        """The tab's step loop; a failure ends this tab's socket, never the server."""
        try:
            await player.loop.run()
        except ConnectionError:
            pass  # the tab went away mid-send
        except Exception:
            log.exception("play: a session's step loop failed")
        await player.ws.close()

    def player(self, request: web.Request) -> Player:
        session_id = request.match_info["id"]
        if session_id not in self.players:
            raise web.HTTPNotFound(text=f"no session {session_id!r} (a session ends when its tab closes)")
        return self.players[session_id]

    async def start(self, player: Player, context_THWC: np.ndarray, source: dict[str, Any]) -> dict[str, Any]:
        """Reset the session to ``context_THWC`` (uint8 [T, S, S, 3]) and queue the start notice and previews."""
        await player.loop.call(player.session.reset, context_THWC)
        player.last_start = (context_THWC, source)
        message = {"type": "start", **source}
        player.loop.outbox.append(message)
        await self.send_previews(player)
        return message

    async def send_previews(self, player: Player) -> None:
        steps, fps = self.settings.preview_steps, self.settings.fps

        def gifs() -> list[str]:
            rows = player.session.previews(steps)  # uint8 [K, steps + 1, H, W, 3]
            return ["data:image/gif;base64," + base64.b64encode(recording.gif_bytes(row, fps / 2)).decode()
                    for row in rows]

        player.loop.outbox.append({"type": "previews", "images": await player.loop.call(gifs)})

    def random_start(self) -> tuple[np.ndarray, dict[str, Any]]:
        return any_start(self.store, self.settings.split, self.world.window, self.world.frame_size, self.rng)

    async def action(self, request: web.Request) -> web.Response:
        player = self.player(request)
        body = await json_body(request)
        if "action" not in body:
            raise UserError('action: expected {"action": <latent action id> or null}')
        player.session.hold(body["action"])
        return web.json_response({"held": player.session.held_action})

    async def reset(self, request: web.Request) -> web.Response:
        player = self.player(request)
        body = await json_body(request)
        source = body.get("source", "again")
        if source == "again" and player.last_start is not None:
            return web.json_response(await self.start(player, *player.last_start))
        if source in ("random", "again"):
            return web.json_response(await self.start(player, *self.random_start()))
        if source == "episode":
            if self.store is None:
                raise UserError("reset: this run's episode store is not available; upload an image instead")
            name, frame = body.get("episode"), body.get("frame", 0)
            context = episode_context(self.store, self.settings.split, name, frame, self.world.window)
            return web.json_response(await self.start(player, context, {"source": "episode", "episode": name,
                                                                        "frame": frame}))
        raise UserError(f"reset: unknown source {source!r} (expected 'again', 'random' or 'episode'; uploads go to "
                        "/upload)")

    async def upload(self, request: web.Request) -> web.Response:
        player = self.player(request)
        if not request.content_type.startswith("multipart/"):
            raise UserError("upload: expected a multipart/form-data body with a 'file' field")
        form = await request.post()
        file = form.get("file")
        if not isinstance(file, web.FileField):
            raise UserError("upload: no 'file' field with a file in the form")
        try:
            frame_index = int(form.get("frame", 0) or 0)
        except (TypeError, ValueError):
            raise UserError(f"upload: frame {form.get('frame')!r} is not an integer") from None
        data = file.file.read()
        context = await asyncio.get_running_loop().run_in_executor(
            None, read_upload, data, file.filename or "", self.world.frame_size, self.settings.max_upload_bytes,
            frame_index)
        return web.json_response(await self.start(player, context, {"source": "upload", "file": file.filename,
                                                                     "frame": frame_index}))

    async def previews(self, request: web.Request) -> web.Response:
        await self.send_previews(self.player(request))
        return web.json_response({"previews": "sent"})

    async def recording(self, request: web.Request) -> web.Response:
        player = self.player(request)
        fmt = request.match_info["fmt"]
        if fmt not in recording.FORMATS:
            raise web.HTTPNotFound(text=f"recording.{fmt}: unknown format (known: {', '.join(recording.FORMATS)})")
        frames = await player.loop.call(list, player.session.recording)  # a snapshot taken between steps
        data = await asyncio.get_running_loop().run_in_executor(
            None, recording.encode, frames, fmt, self.settings.fps, self.settings.scale)
        return web.Response(body=data, content_type=recording.FORMATS[fmt],
                            headers={"Content-Disposition": f'attachment; filename="genie-play.{fmt}"'})

    # ------------------------------------------------------------------ shutdown
    async def close_all(self, app: web.Application) -> None:
        for player in list(self.players.values()):
            if player.task is not None:
                player.task.cancel()
            await player.ws.close()

    async def stop_executor(self, app: web.Application) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)


async def json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise UserError(f"{request.path}: the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise UserError(f"{request.path}: the body must be a JSON object, got {type(body).__name__}")
    return body


# ------------------------------------------------------------------ running
async def start_site(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, str]:
    """Listen on ``host:port`` (port 0: a free one); returns the runner (to clean up) and the page's URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as e:
        await runner.cleanup()
        raise UserError(f"play.host={host} play.port={port}: cannot listen there ({e.strerror or e}); "
                        "pick another port (play.port=0 picks a free one)") from e
    bound_port = runner.addresses[0][1]
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else (f"[{host}]" if ":" in host else host)
    return runner, f"http://{shown}:{bound_port}/"


def serve(app: web.Application, host: str, port: int, open_browser: bool = False) -> None:
    """Serve until Ctrl+C, printing the URL (and opening it in a browser if asked)."""

    async def main() -> None:
        runner, url = await start_site(app, host, port)
        print(f"play: open {url} (Ctrl+C stops)", flush=True)
        if open_browser:
            import webbrowser

            webbrowser.open(url)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        print("play: stopped")


class BackgroundServer:
    """The app served from a thread of its own on a free port, for tests and scripts: ``with ... as url:``."""

    def __init__(self, app: web.Application, host: str = "127.0.0.1"):
        self.app, self.host = app, host
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="genie-play-server", daemon=True)
        self.runner: web.AppRunner | None = None

    def __enter__(self) -> str:
        self.thread.start()
        self.runner, url = asyncio.run_coroutine_threadsafe(start_site(self.app, self.host, 0), self.loop).result()
        return url

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()
