"""The learning-rate schedule anneals by whichever budget (steps or wall-clock) runs out first."""

import time

from genie.models.optim import WarmupCosine


def test_schedule_warms_up_then_decays_by_steps():
    schedule = WarmupCosine(warmup_steps=10, total_steps=110)
    assert schedule(0) == 0.1 and schedule(9) == 1.0
    assert abs(schedule(60) - 0.55) < 1e-6 and abs(schedule(110) - 0.1) < 1e-6


def test_schedule_anneals_when_the_time_budget_runs_out_first():
    schedule = WarmupCosine(warmup_steps=1, total_steps=10**9, time_budget_s=0.05)
    assert schedule(5) > 0.99
    time.sleep(0.06)
    assert abs(schedule(6) - 0.1) < 1e-6


def test_an_interruption_is_not_counted_as_training_time():
    schedule = WarmupCosine(warmup_steps=1, total_steps=10**9, time_budget_s=10.0, max_gap_s=0.01)
    schedule(5)
    time.sleep(0.05)  # longer than max_gap_s: a pause, not training
    assert schedule(6) > 0.99
