"""One clean log: every message once, through the logging Hydra configures (console and ``<run>/train.log``), without
third-party tips. The entry points call ``one_log()`` once, at import (genie/cli.py)."""

from __future__ import annotations

import logging
import warnings

TIP = "💡 Tip"  # Lightning's advertisements ("💡 Tip: ... try installing litlogger / litmodels")
# what Lightning says of the machine whenever a Trainer is made, i.e. once per stage
MACHINE_FACTS = ("GPU available", "TPU available", "HPU available")


class LightningNoise(logging.Filter):
    """Drops Lightning's tips, and its machine facts after their first time."""

    def __init__(self):
        super().__init__()
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if text.startswith(TIP):
            return False
        if text.startswith(MACHINE_FACTS):
            if text in self.seen:
                return False
            self.seen.add(text)
        return True


class WarningsToLog:
    """``warnings.showwarning`` replaced: each warning text becomes one log record of ``py.warnings``, the first time
    only (Python's own once-per-location memory is reset whenever any library changes the warning filters)."""

    def __init__(self):
        self.seen: set[str] = set()

    def __call__(self, message, category, filename, lineno, file=None, line=None) -> None:
        text = warnings.formatwarning(message, category, filename, lineno, line).rstrip()
        if text not in self.seen:
            self.seen.add(text)
            logging.getLogger("py.warnings").warning("%s", text)


def one_log() -> None:
    """Lightning gives its loggers console handlers of their own at import: ``lightning`` always (``INFO: ...``, and it
    propagates, so each message printed twice under Hydra), ``lightning.pytorch`` / ``lightning.fabric`` when
    imported before logging is configured (then not propagating: unformatted, missing from train.log). Those
    handlers go and the loggers propagate to the root logger; Python warnings join the log (``WarningsToLog``)
    instead of bare lines on stderr that train.log never sees."""
    import lightning  # noqa: F401  (its import is what installs those handlers)

    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        lightning_log = logging.getLogger(name)
        for handler in list(lightning_log.handlers):
            lightning_log.removeHandler(handler)
        lightning_log.propagate = True
    logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(LightningNoise())
    logging.getLogger("alembic").setLevel(logging.WARNING)  # under a sweep: "setup plugin ..." for each of its plugins
    warnings.showwarning = WarningsToLog()
    # Lightning 2.6 on torch 2.13 asks torch a deprecated question once per Trainer; nothing for users to act on
    warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated")
