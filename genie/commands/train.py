"""``genie-train``: train tokenizer -> LAM -> dynamics on CoinRun and dream (docs/getting-started.md)."""

import sys

import hydra
from omegaconf import DictConfig

from genie.cli import register_resolvers, require_extras, user_errors_exit

register_resolvers()


@hydra.main(version_base="1.3", config_path="../configs", config_name="train")
@user_errors_exit
def train_main(cfg: DictConfig) -> float | None:
    from genie.training.objective import objective_value
    from genie.training.pipeline import train

    return objective_value(cfg, train(cfg))


def main() -> None:
    user_errors_exit(require_extras)(sys.argv[1:])  # one line instead of Hydra's when a plugin's extra is missing
    train_main()


if __name__ == "__main__":
    main()
