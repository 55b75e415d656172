"""benchmarks/lam_intent.py: codes that name the held key score 1, codes that change every step score 0."""

import json
import sys

import numpy as np
import torch

from benchmarks import lam_intent
from genie.checkpoints import load_module, resolve_checkpoint


def test_run_lengths_of_a_code_stream():
    assert lam_intent.run_lengths(np.array([4, 4, 2, 2, 2, 7])).tolist() == [2, 3, 1]
    assert lam_intent.run_lengths(np.array([1])).tolist() == [1]


def test_codes_that_are_the_keys_score_one_and_codes_that_flicker_score_zero(trained_run, store, monkeypatch):
    lam = load_module(resolve_checkpoint(trained_run, "lam"), "lam").net
    episodes = store.episodes("val")[:3]
    pressed = iter([store.actions(e.name)[: e.length - 1] for e in episodes])
    monkeypatch.setattr(lam_intent, "infer_latent_actions",
                        lambda lam, frames: torch.from_numpy(np.array(next(pressed))))
    keys = lam_intent.intent_scores(lam, store, "val", 3)
    assert keys["held_same_code"] == 1.0 and keys["effect_nmi"] > 0.99
    assert keys["transitions"] == sum(e.length - 1 for e in episodes)
    monkeypatch.setattr(lam_intent, "infer_latent_actions",
                        lambda lam, frames: torch.arange(len(frames) - 1) % 2)  # a new code every step
    flicker = lam_intent.intent_scores(lam, store, "val", 3)
    assert flicker["held_same_code"] == 0.0 and flicker["mean_run"] == 1.0


def test_the_benchmark_labels_with_the_run_lam_and_adds_it_to_its_json(trained_run, monkeypatch, tmp_path):
    out = tmp_path / "intent.json"
    out.write_text(json.dumps({"runs/earlier": {"effect_nmi": 0.5}}))  # an earlier LAM's scores stay
    monkeypatch.setattr(sys, "argv", ["lam_intent", str(trained_run), "--episodes", "2", "--out", str(out)])
    lam_intent.main()
    written = json.loads(out.read_text())
    assert written["runs/earlier"] == {"effect_nmi": 0.5}
    scores = written[str(trained_run)]
    assert 0.0 <= scores["effect_nmi"] <= 1.0 and 0.0 <= scores["held_same_code"] <= 1.0
    assert scores["mean_run"] >= 1.0 and scores["lam"]["num_actions"] >= scores["codes_used"] >= 1
