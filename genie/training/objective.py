"""The value a Hydra sweeper optimises: ``optimized_metric`` read from the validation metrics of the stages that ran."""

from __future__ import annotations

from omegaconf import DictConfig

from genie.errors import UserError


def objective_value(cfg: DictConfig, metrics: dict[str, float]) -> float | None:
    """``metrics[cfg.optimized_metric]``; None when no metric is named; UserError listing what there is when the named
    one was not measured (a sweep must never optimise a missing value)."""
    name = cfg.get("optimized_metric")
    if not name:
        return None
    if name not in metrics:
        known = ", ".join(sorted(k for k in metrics if "/val/" in k)) or "none"
        raise UserError(f"optimized_metric={name}: this run did not measure it (validation metrics of the stages that "
                        f"ran: {known})")
    return float(metrics[name])
