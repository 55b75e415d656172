"""CoinRun generation writes a valid, level-split store with aligned true actions."""

import numpy as np
import pytest

pytest.importorskip("procgen", reason="procgen-mirror wheels exist only for CPython 3.11/3.12 on Linux x86-64")

from genie.data.coinrun import LEVEL_OFFSETS, ExpertPolicy, generate_coinrun  # noqa: E402
from genie.data.store import EpisodeStore  # noqa: E402


def test_coinrun_generation_writes_a_valid_level_split_store(tmp_path):
    levels = {"train": 5, "val": 2, "test": 2}
    generate_coinrun(str(tmp_path), 64, {"train": 60, "val": 20, "test": 20}, levels, max_episode_len=16,
                     num_envs=2, seed=0)
    store = EpisodeStore(tmp_path)
    assert store.complete and store.source == "coinrun" and store.num_actions == 15
    for split in ("train", "val", "test"):
        episodes = store.episodes(split)
        assert sum(e.length for e in episodes) >= {"train": 60, "val": 20, "test": 20}[split]
        for e in episodes:
            seed = e.meta["level_seed"]
            assert LEVEL_OFFSETS[split] <= seed < LEVEL_OFFSETS[split] + levels[split]
            frames, actions = store.frames(e.name), store.actions(e.name)
            assert frames.shape[1:] == (64, 64, 3) and frames.dtype == np.uint8
            assert len(actions) == len(frames) - 1 and 0 <= actions.min() and actions.max() < 15
    # re-running with the same budget reuses the store: nothing is appended
    before = len(store)
    generate_coinrun(str(tmp_path), 64, {"train": 60, "val": 20, "test": 20}, levels, max_episode_len=16,
                     num_envs=2, seed=0)
    assert len(EpisodeStore(tmp_path)) == before


@pytest.mark.slow
def test_default_demo_trains_its_lam_on_held_action_coinrun(tmp_path):
    """The default data is CoinRun stored every 3 game steps with every action held for 3 stored frames, and the
    default LAM reads one history frame, looks 2 frames ahead and decodes by warping: trained a few steps through the
    real configs."""
    import torch
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import open_dict

    from genie.checkpoints import read_world
    from genie.training.pipeline import train
    from tests.conftest import CONFIGS

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=CONFIGS, version_base="1.3"):
        cfg = compose("train", overrides=[
            "stage=lam", "logger=csv", "data.num_envs=2", "data.max_episode_len=24",
            "data.frames={train: 120, val: 40, test: 40}", "data.levels={train: 4, val: 2, test: 2}",
            "budget.lam={max_steps: 2, max_time: null, batch_size: 4, val_check_interval: 2, limit_val_batches: 1}"])
    GlobalHydra.instance().clear()
    with open_dict(cfg):
        cfg.paths.root_dir, cfg.paths.data_dir = str(tmp_path), str(tmp_path / "data")
        cfg.paths.log_dir, cfg.paths.output_dir = str(tmp_path / "runs"), str(tmp_path / "runs" / "run")
    train(cfg)
    world = read_world(tmp_path / "runs" / "run")
    net = torch.load(world["lam"], map_location="cpu", weights_only=True)["hyper_parameters"]["net"]
    assert net["history"] == 1 and net["warp"] is True and net["flow_block"] == 8 and net["lookahead"] == 2
    store = EpisodeStore(world["data"])
    assert store.manifest["extra"]["hold"] == 3 and store.manifest["extra"]["frameskip"] == 3
    assert store.fps == 5.0  # 15 game frames a second, one stored every 3
    actions = np.concatenate([store.actions(e.name) for e in store.episodes("train")])
    assert (actions[1:] == actions[:-1]).mean() > 0.6  # held: most steps repeat the previous action


def test_random_agent_experiment_composes_the_random_store_and_its_lam():
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from tests.conftest import CONFIGS

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=CONFIGS, version_base="1.3"):
        cfg = compose("train", overrides=["experiment=coinrun_random", "paths.root_dir=/tmp/x"])
    GlobalHydra.instance().clear()
    assert cfg.data.hold == 1 and "coinrun_hold1_" in cfg.data.path
    assert cfg.model.lam.net.history is None and cfg.model.lam.net.warp is False


def test_the_expert_data_option_records_a_scripted_player_in_its_own_store(tmp_path):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from tests.conftest import CONFIGS

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=CONFIGS, version_base="1.3"):
        cfg = compose("prepare", overrides=["data=coinrun_expert", "paths.root_dir=/tmp/x"])
    GlobalHydra.instance().clear()
    assert cfg.data.agent == "expert" and "coinrun_expert_easy_" in cfg.data.path
    generate_coinrun(str(tmp_path), 64, {"train": 40, "val": 10, "test": 10}, {"train": 3, "val": 1, "test": 1},
                     max_episode_len=16, num_envs=2, agent="expert")
    store = EpisodeStore(tmp_path)
    assert store.manifest["extra"]["agent"] == "expert"
    actions = np.concatenate([store.actions(e.name) for e in store.episodes()])
    assert set(actions.tolist()) <= set(ExpertPolicy.MOVES) and 8 in actions  # mostly RIGHT+UP


def test_an_unknown_agent_is_named():
    from genie.errors import UserError

    with pytest.raises(UserError, match="data.agent: unknown CoinRun agent 'robot'"):
        generate_coinrun("/tmp/never", 64, {"train": 1}, {"train": 1}, agent="robot")


def test_an_agent_in_stretches_favours_one_effect_for_a_stretch_of_draws():
    from genie.data.coinrun import ACTION_EFFECTS, EFFECT_NAMES, RandomPolicy

    effects = np.asarray(ACTION_EFFECTS)
    only_right = RandomPolicy(8, np.random.default_rng(0), bias=1.0, stretch=4, favour=(0, 1, 0, 0))
    assert all((effects[only_right()] == EFFECT_NAMES.index("RIGHT")).all() for _ in range(20))
    # bias 1, all effects allowed: each env's effect changes only between stretches of 4 draws
    stretches = RandomPolicy(8, np.random.default_rng(0), bias=1.0, stretch=4)
    drawn_NT = np.stack([effects[stretches()] for _ in range(40)], 1)
    changes_N = (np.diff(drawn_NT, axis=1) != 0).sum(1)
    assert changes_N.max() <= 40 // 4 and changes_N.sum() > 0
    # no bias: the uniform agent's draws are what they were before stretches existed
    uniform = RandomPolicy(8, np.random.default_rng(0), hold=3)
    rng = np.random.default_rng(0)
    previous, held_for = rng.integers(0, 15, size=8), rng.integers(0, 3, size=8)
    for _ in range(12):
        draw = held_for >= 2
        fresh, keep = rng.integers(0, 15, size=8), rng.random(8) < 0.0
        previous, held_for = np.where(draw & ~keep, fresh, previous), np.where(draw, 0, held_for + 1)
        assert (uniform() == previous).all()


def small_store_config(path, **changes) -> dict:
    """A tiny CoinRun ``data`` config, as prepare_store reads it."""
    return {"source": "coinrun", "path": str(path), "frame_size": 64, "frames": {"train": 20, "val": 10, "test": 10},
            "levels": {"train": 2, "val": 1, "test": 1}, "max_episode_len": 16, "num_envs": 2, "distribution_mode": "easy",
            "sticky": 0.0, "hold": 3, "seed": 0, "agent": "random", "frameskip": 3, "bias": 0.0, "stretch": 8,
            "favour": [1.0, 1.0, 1.0, 1.0], "backgrounds": True} | changes


def test_a_store_played_otherwise_than_the_config_asks_is_not_reused(tmp_path):
    from genie.data.prepare import prepare_store
    from genie.data.store import StoreError

    data = small_store_config(tmp_path, bias=0.75, favour=[1.0, 3.0, 1.0, 1.0])
    prepare_store(data)
    assert EpisodeStore(tmp_path).manifest["extra"]["bias"] == 0.75
    prepare_store(data)  # the same settings: reused
    with pytest.raises(StoreError, match=r"played with data.bias=0.75, the config asks for 0.0"):
        prepare_store(data | {"bias": 0.0})


def test_levels_without_backgrounds_are_the_same_play_on_a_black_backdrop(tmp_path):
    budget, levels = {"train": 30, "val": 10, "test": 10}, {"train": 3, "val": 1, "test": 1}
    stores = {}
    for backgrounds in (True, False):
        root = tmp_path / str(backgrounds)
        generate_coinrun(str(root), 64, budget, levels, max_episode_len=16, num_envs=2, seed=0, hold=3, frameskip=3,
                         backgrounds=backgrounds)
        stores[backgrounds] = EpisodeStore(root)
    assert stores[False].manifest["extra"]["backgrounds"] is False
    pictured, plain = (stores[b].episodes("train")[0].name for b in (True, False))
    np.testing.assert_array_equal(stores[True].actions(pictured), stores[False].actions(plain))  # the same play
    black = {b: float((stores[b].frames(name) == 0).all(-1).mean()) for b, name in ((True, pictured), (False, plain))}
    assert black[False] > 0.2 and black[True] < 0.05  # the backdrop, where the level leaves it in view


def test_a_store_with_other_backgrounds_than_asked_is_not_reused(tmp_path):
    from genie.data.prepare import prepare_store
    from genie.data.store import StoreError

    data = small_store_config(tmp_path, backgrounds=False)
    prepare_store(data)
    with pytest.raises(StoreError, match=r"played with data.backgrounds=False, the config asks for True"):
        prepare_store(data | {"backgrounds": True})
