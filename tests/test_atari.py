"""Atari generation writes a valid, episode-split store whose saved actions reproduce its frames."""

import av
import numpy as np
import pytest

pytest.importorskip("ale_py", reason="ale-py is a dependency; skipped only where it failed to install")

from genie.data.atari import SEED_OFFSETS, generate_atari, make_env  # noqa: E402
from genie.data.store import EpisodeStore  # noqa: E402
from genie.data.video import fit_frame  # noqa: E402
from genie.errors import UserError  # noqa: E402

BUDGET = {"train": 40, "val": 12, "test": 12}


@pytest.fixture(scope="module")
def pong(tmp_path_factory):
    root = tmp_path_factory.mktemp("atari")
    generate_atari(str(root), "Pong", 32, BUDGET, max_episode_len=12, sticky=0.5, seed=3)
    return EpisodeStore(root)


def test_atari_store_holds_each_split_budget_with_true_actions(pong):
    assert pong.complete and pong.source == "atari/Pong" and pong.num_actions == 6
    assert pong.manifest["action_meanings"][:2] == ["NOOP", "FIRE"]
    # each action is its own effect, so the game's keys (arrows, space) ground on the true actions as CoinRun's do
    assert pong.effects() == (list(range(6)), pong.manifest["action_meanings"])
    for split, budget in BUDGET.items():
        episodes = pong.episodes(split)
        assert sum(e.length for e in episodes) >= budget
        for e in episodes:
            assert SEED_OFFSETS[split] <= e.meta["env_seed"] < SEED_OFFSETS[split] + 100_000
            frames, actions = pong.frames(e.name), pong.actions(e.name)
            assert frames.dtype == np.uint8 and frames.shape[1:] == (32, 32, 3) and e.length <= 12
            assert len(actions) == len(frames) - 1 and 0 <= actions.min() and actions.max() < 6


def test_saved_actions_replay_to_the_saved_frames(pong):
    """actions[t] moved frames[t] to frames[t+1]: replaying them from the same seed reproduces every frame."""
    env = make_env("Pong", frameskip=4, repeat_action_probability=0.0)
    first = sorted((e for e in pong.episodes("train") if e.meta["env_seed"] == 0), key=lambda e: e.meta["segment"])
    frames = np.concatenate([pong.frames(first[0].name)] + [pong.frames(e.name)[1:] for e in first[1:]])
    actions = np.concatenate([pong.actions(e.name) for e in first])
    obs, _ = env.reset(seed=0)
    replayed = [obs]
    for a in actions:
        replayed.append(env.step(int(a))[0])
    fitted = np.stack([fit_frame(av.VideoFrame.from_ndarray(o, format="rgb24"), 32, "stretch") for o in replayed])
    assert np.array_equal(fitted, frames)
    assert not np.array_equal(fitted[0], fitted[-1])  # something happened


def test_rerun_reuses_and_a_bigger_budget_continues_with_fresh_seeds(pong, tmp_path):
    before = len(pong)
    assert len(generate_atari(str(pong.root), "Pong", 32, BUDGET, max_episode_len=12, sticky=0.5, seed=3)) == before
    more = generate_atari(str(pong.root), "Pong", 32, {**BUDGET, "val": 30}, max_episode_len=12, sticky=0.5, seed=3)
    seeds = [e.meta["env_seed"] for e in more.episodes("val")]
    assert sum(e.length for e in more.episodes("val")) >= 30 and len(more) > before
    assert len(set(zip(seeds, [e.meta["segment"] for e in more.episodes("val")]))) == len(seeds)


def test_unknown_game_is_a_user_error():
    with pytest.raises(UserError, match="data.game='NoSuchGame'"):
        make_env("NoSuchGame", 4, 0.0)
