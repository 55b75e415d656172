"""Build (or reuse) the episode store a data config describes. Generation is cached: a complete store is reused,
an interrupted one is continued. A video folder is re-scanned every time: new or changed files are imported, the rest
reused (``data.path`` is the folder there, ``data.store`` the store)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from genie.data.store import EpisodeStore, StoreError

log = logging.getLogger(__name__)


# How a CoinRun store was played, recorded in its manifest; the value a store from before the key was recorded has
COINRUN_GENERATION = {"agent": "random", "hold": 1, "sticky": 0.0, "frameskip": 1, "distribution_mode": "easy",
                      "bias": 0.0, "stretch": 8, "favour": [1.0, 1.0, 1.0, 1.0], "backgrounds": True}


def check_generated_as_asked(store: EpisodeStore, data: dict[str, Any]) -> None:
    """A cached CoinRun store is reused only if it was played the way ``data`` asks (a store at a hand-set
    ``data.path`` could have been played otherwise)."""
    if store.source != "coinrun" or data.get("source") != "coinrun":
        return
    extra = store.manifest.get("extra", {})
    for key, default in COINRUN_GENERATION.items():
        if key in ("stretch", "favour") and not data.get("bias"):
            continue  # stretches mean nothing without a bias
        recorded, asked = extra.get(key, default), data.get(key, default)
        if recorded != asked:
            raise StoreError(f"{store.root}: this store was played with data.{key}={recorded}, the config asks for "
                             f"{asked}; set data.path to another folder (or delete this one to regenerate it)")


def prepare_store(data: dict[str, Any]) -> EpisodeStore:
    """``data`` is the ``data`` config group as a plain dict; returns the ready store."""
    if data["source"] == "video_folder":
        from genie.data.video_import import import_video_folder

        return import_video_folder(
            data["path"], data["store"], data["frame_size"], data["fit"], data["fps"], data["split"],
            data["on_bad_file"], data["min_frames"], data["max_episode_len"], data["split_by"], data["split_gap"],
        )[0]
    source, root = data["source"], Path(data["path"]).expanduser()
    if (root / "manifest.json").is_file():
        store = EpisodeStore(root)
        if store.complete:
            if store.frame_size != data["frame_size"]:
                raise StoreError(f"{root}: store holds {store.frame_size}px frames, data.frame_size={data['frame_size']}")
            check_generated_as_asked(store, data)
            log.info("reusing %s store at %s (%d episodes)", store.source, root, len(store))
            return store
        log.info("continuing the interrupted %s store at %s", source, root)
    if source == "synthetic":
        from genie.data.synthetic import generate_synthetic

        return generate_synthetic(str(root), data["frame_size"], data["episodes"], data["episode_len"], data["seed"])
    if source == "coinrun":
        from genie.data.coinrun import generate_coinrun

        return generate_coinrun(
            str(root), data["frame_size"], data["frames"], data["levels"], data["max_episode_len"],
            num_envs=data["num_envs"], distribution_mode=data["distribution_mode"], sticky=data["sticky"],
            hold=data["hold"], seed=data["seed"], agent=data["agent"],
            frameskip=data["frameskip"], bias=data["bias"], stretch=data["stretch"],
            favour=tuple(data["favour"]), backgrounds=data["backgrounds"],
        )
    if source == "atari":
        from genie.data.atari import generate_atari

        return generate_atari(
            str(root), data["game"], data["frame_size"], data["frames"], data["fit"], data["frameskip"],
            data["repeat_action_probability"], data["sticky"], data["max_episode_len"], seed=data["seed"],
        )
    if source == "store":
        raise StoreError(f"{root}: no complete episode store at data.path")
    raise StoreError(f"data.source: unknown source {source!r} (known: coinrun, atari, video_folder, synthetic, store)")
