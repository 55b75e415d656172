"""``genie-shard`` (``python -m genie.commands.shard``): write the train split of the store a `data` config describes
as litdata shards in ``data.stream``, for training on many machines (genie/data/shards.py)."""

import hydra
from omegaconf import DictConfig, OmegaConf

from genie.cli import register_resolvers, user_errors_exit
from genie.errors import UserError

register_resolvers()


@hydra.main(version_base="1.3", config_path="../configs", config_name="shard")
@user_errors_exit
def main(cfg: DictConfig) -> None:
    from genie.data.prepare import prepare_store
    from genie.data.shards import export_shards, read_header

    if not cfg.data.stream:
        raise UserError("data.stream: set it to the folder to write the shards to, e.g. "
                        "data.stream=data/shards/coinrun")
    store = prepare_store(OmegaConf.to_container(cfg.data, resolve=True))
    out = export_shards(store, cfg.data.stream, "train", cfg.clip_len, cfg.stride, cfg.seed, cfg.chunk_bytes)
    header = read_header(out)
    print(f"{out}: {header['clips']} train clips of {header['clip_len']} frames (stride {header['stride']}) "
          f"from {len(header['episodes'])} episodes of {store.root}")


if __name__ == "__main__":
    main()
