"""Resumable Optuna sweeps (``hparams_search/*``): the sampler the presets hand to Hydra's Optuna sweeper.

A study kept in a database (``hydra.sweeper.storage``, by default ``sqlite:///<paths.log_dir>/optuna.db``) is
continued by the same command typed again. Before the sweeper opens the study, ``resumable_tpe`` prepares it:

- trials a killed sweep left RUNNING are marked FAIL (nothing else finishes them: one sweep process per study);
- the sampler's seed is ``seed + <trials already in the study>``, so a resumed session does not propose the first
  session's parameters again, while a fresh study with the same seed proposes the same trials as before.

See docs/sweeps.md.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def sqlite_folder(storage: str) -> Path | None:
    """The folder of a ``sqlite:///<file>`` storage URL's database file (None for other URLs or in-memory sqlite)."""
    from sqlalchemy.engine import make_url

    url = make_url(storage)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database).expanduser().parent


def resume_study(storage: str | None, study_name: str | None) -> int:
    """Prepare ``study_name`` in ``storage`` for another session: trials left RUNNING become FAIL. Returns how many
    trials the study already holds (0 when there is no storage or no such study yet)."""
    if not storage or not study_name:
        return 0
    import optuna
    from optuna.trial import TrialState

    folder = sqlite_folder(storage)
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    if study_name not in {s.study_name for s in optuna.get_all_study_summaries(storage)}:
        return 0
    study = optuna.load_study(study_name=study_name, storage=storage)
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        log.warning("study %s: trial %d was left RUNNING by a sweep that stopped; marking it FAIL",
                    study_name, trial.number)
        study.tell(trial.number, state=TrialState.FAIL)
    return len(study.trials)


def resumable_tpe(storage: str | None, study_name: str | None, seed: int | None, **tpe: Any):
    """Optuna's TPE sampler for a study that may be resumed: ``seed`` offset by the trials already in the study
    (``tpe``: TPESampler's other arguments)."""
    import optuna

    optuna.logging.enable_propagation()  # optuna's messages in the run's log format, not its coloured stderr lines
    optuna.logging.disable_default_handler()
    previous = resume_study(storage, study_name)
    if previous:
        log.info("study %s: resuming after %d trials (sampler seed %s + %d)", study_name, previous, seed, previous)
    return optuna.samplers.TPESampler(seed=None if seed is None else seed + previous, **tpe)
