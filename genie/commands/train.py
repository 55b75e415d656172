"""``genie-train``: train tokenizer -> LAM -> dynamics on CoinRun and dream; see README."""

import hydra
from omegaconf import DictConfig

from genie.cli import register_resolvers, user_errors_exit

register_resolvers()


@hydra.main(version_base="1.3", config_path="../configs", config_name="train")
@user_errors_exit
def main(cfg: DictConfig) -> float | None:
    from genie.training.objective import objective_value
    from genie.training.pipeline import train

    return objective_value(cfg, train(cfg))


if __name__ == "__main__":
    main()
