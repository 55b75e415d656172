"""``genie-prepare``: build the episode store a `data` config describes (generate, or import a video folder)."""

import hydra
from omegaconf import DictConfig, OmegaConf

from genie.cli import register_resolvers, user_errors_exit

register_resolvers()


@hydra.main(version_base="1.3", config_path="../configs", config_name="prepare")
@user_errors_exit
def main(cfg: DictConfig) -> None:
    from genie.data.prepare import prepare_store
    from genie.data.summary import describe

    store = prepare_store(OmegaConf.to_container(cfg.data, resolve=True))
    print("\n".join(describe(store)))


if __name__ == "__main__":
    main()
