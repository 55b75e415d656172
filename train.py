"""Train mini-genie. `python train.py` trains tokenizer -> LAM -> dynamics on CoinRun and dreams; see README."""

import hydra
from omegaconf import DictConfig

from genie.cli import register_resolvers, user_errors_exit

register_resolvers()


@hydra.main(version_base="1.3", config_path="configs", config_name="train")
@user_errors_exit
def main(cfg: DictConfig) -> float | None:
    from genie.training.pipeline import train

    metrics = train(cfg)
    return metrics.get(cfg.optimized_metric)


if __name__ == "__main__":
    main()
