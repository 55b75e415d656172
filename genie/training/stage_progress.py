"""StageProgress: one progress display per stage, an ETA that honours ``max_time``, and a log line (not a bar) when
the log is not a terminal."""

from __future__ import annotations

import logging
import sys
import time
from contextlib import ExitStack

import lightning as L
from lightning.pytorch.callbacks import Callback, Timer
from tqdm.auto import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

log = logging.getLogger(__name__)


class StageBar(tqdm):
    """A tqdm bar whose time left is ``left`` (set by StageProgress), not tqdm's own steps-only estimate."""

    left = "?"

    @property
    def format_dict(self):
        return {**super().format_dict, "left": self.left}


class StageProgress(Callback):
    """One progress display per stage over optimiser steps.

    On a terminal (stderr a TTY): one bar, ``[tokenizer]  40%|████      | 1200/3000 [02:10<03:15, loss=0.003]``, with
    log messages printed above it. Elsewhere (a log file, CI): a log line each time another ``every_percent`` % of the
    stage is done, ``[tokenizer] 40% done, step 1200/3000, 02:10 elapsed, 03:15 left, loss=0.003``.

    A stage ends at ``max_steps`` or at ``max_time``, whichever comes first: the time left is the smaller of the steps
    left at this run's pace and the time left on the Trainer's timer (marked ``(max_time)`` when that one is smaller),
    and the stage is as far along as the larger of its step and time fractions. After each validation its metrics
    are logged as one line.
    """

    def __init__(self, stage: str, every_percent: float = 5.0):
        if not 0 < every_percent <= 100:
            raise ValueError(f"StageProgress: every_percent must be in (0, 100], got {every_percent}")
        self.stage = stage
        self.every = every_percent / 100
        self.bar: StageBar | None = None
        self.redirect = ExitStack()
        self.start = (0.0, 0)  # (time, step) when this fit started
        self.next_line = 0.0  # the fraction done at which the next log line is due (no bar)
        self.active = False

    # ------------------------------------------------------------------ progress
    def fraction_and_left(self, trainer: L.Trainer) -> tuple[float, float | None, bool]:
        """(fraction of the stage done, seconds left or None while unknown, whether max_time ends it first)."""
        step = trainer.global_step
        elapsed = time.monotonic() - self.start[0]
        done_here = step - self.start[1]
        fraction, left, by_time = 0.0, None, False
        if trainer.max_steps > 0:
            fraction = step / trainer.max_steps
            if done_here > 0:
                left = (trainer.max_steps - step) * elapsed / done_here
        timer = next((c for c in trainer.callbacks if isinstance(c, Timer)), None)
        if timer is not None and timer.time_remaining() is not None:
            remaining, spent = timer.time_remaining(), timer.time_elapsed()
            fraction = max(fraction, spent / max(spent + remaining, 1e-9))
            if left is None or remaining < left:
                left, by_time = max(remaining, 0.0), True
        return min(fraction, 1.0), left, by_time

    @staticmethod
    def loss(trainer: L.Trainer) -> str:
        loss = trainer.callback_metrics.get("train/loss")
        return "" if loss is None else f"loss={float(loss):.4g}"

    # ------------------------------------------------------------------ hooks
    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.active = trainer.is_global_zero
        if not self.active:
            return
        self.start = (time.monotonic(), trainer.global_step)
        self.next_line = self.fraction_and_left(trainer)[0] + self.every
        if sys.stderr.isatty():
            total = trainer.max_steps if trainer.max_steps > 0 else None
            shape = "{percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt}" if total else "{n_fmt} steps"
            self.redirect.enter_context(logging_redirect_tqdm())  # log lines above the bar, not through it
            self.bar = StageBar(total=total, initial=trainer.global_step, desc=f"[{self.stage}]", unit="step",
                                dynamic_ncols=True, file=sys.stderr,
                                bar_format="{desc} " + shape + " [{elapsed}<{left}{postfix}]")

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if not self.active:
            return
        fraction, left, by_time = self.fraction_and_left(trainer)
        left_text = "?" if left is None else tqdm.format_interval(left) + (" (max_time)" if by_time else "")
        if self.bar is not None:
            self.bar.left = left_text
            self.bar.set_postfix_str(self.loss(trainer), refresh=False)
            self.bar.update(trainer.global_step - self.bar.n)
        elif fraction >= self.next_line:
            self.next_line = (int(fraction / self.every) + 1) * self.every
            steps = f"{trainer.global_step}/{trainer.max_steps}" if trainer.max_steps > 0 else str(trainer.global_step)
            elapsed = tqdm.format_interval(time.monotonic() - self.start[0])
            loss = self.loss(trainer)
            log.info("[%s] %.0f%% done, step %s, %s elapsed, %s left%s", self.stage, 100 * fraction, steps, elapsed,
                     left_text, f", {loss}" if loss else "")

    def on_validation_end(self, trainer, pl_module) -> None:
        if self.active and not trainer.sanity_checking:
            shown = [f"{k.split('/', 1)[1]}={float(v):.4g}" for k, v in trainer.callback_metrics.items()
                     if k.startswith("val/")]
            log.info("[%s] step %d: %s", self.stage, trainer.global_step, ", ".join(shown))

    def on_train_end(self, trainer, pl_module) -> None:
        self.close()

    def on_exception(self, trainer, pl_module, exception) -> None:
        self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        self.redirect.close()
        self.active = False
