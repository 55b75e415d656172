"""StepLoop: advances one PlaySession at a target rate and streams its frames to one client (a browser tab).

Model work runs on an executor (the server shares one single-thread executor between all sessions, so the CPU is
not oversubscribed and model calls never interleave); pacing and sending run on the asyncio loop. The loop is the
only writer to its client, so messages never interleave either: others queue JSON messages in ``outbox``.

What the client receives per step: one binary message, the frame's raw RGB bytes (uint8 [H, W, 3], row-major,
H * W * 3 bytes), then one JSON message ``{"type": "frame", "step", "action", "held", "model_steps_per_second",
"loop_frames_per_second"}``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from typing import Any, Protocol, TypeVar

from genie.play.rate import Rate
from genie.play.session import PlaySession, Step

T = TypeVar("T")


class Sink(Protocol):
    """Where frames go: aiohttp's WebSocketResponse, or a list in the tests."""

    async def send_bytes(self, data: bytes) -> None: ...

    async def send_json(self, data: Any) -> None: ...


class StepLoop:
    def __init__(self, session: PlaySession, executor: Executor, fps: float, sink: Sink):
        self.session = session
        self.executor = executor
        self.period = 1.0 / fps
        self.sink = sink
        self.outbox: list[dict[str, Any]] = []  # JSON messages to send before the next frame
        self.loop_rate = Rate()  # frames sent per second
        self.clock: Callable[[], float] | None = None  # seconds; None: the event loop's clock (tests set their own)
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the model executor (for the session's reset, step and previews)."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def run(self, steps: int | None = None) -> None:
        """Step and send until cancelled (or ``steps`` times). When the model is slower than the target rate the
        loop runs flat out and does not try to catch up later in a burst."""
        clock = self.clock or asyncio.get_running_loop().time
        due = clock()
        done = 0
        while steps is None or done < steps:
            step = await self.call(self.session.step)
            await self.send(step)
            done += 1
            due = max(due + self.period, clock())
            await self.sleep(due - clock())

    async def send(self, step: Step) -> None:
        while self.outbox:
            await self.sink.send_json(self.outbox.pop(0))
        await self.sink.send_bytes(step.frame.tobytes())
        self.loop_rate.tick(self.clock() if self.clock else None)
        await self.sink.send_json(self.stats(step))

    def stats(self, step: Step) -> dict[str, Any]:
        return {
            "type": "frame",
            "step": step.index,
            "action": step.action,
            "held": self.session.held_action,
            "model_steps_per_second": round(self.session.model_rate.per_second, 1),
            "loop_frames_per_second": round(self.loop_rate.per_second, 1),
        }
