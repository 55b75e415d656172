"""The composed config, resolved, as a tree in the log at the start of a run (rank 0 only): what this run will do,
group by group, beside ``<run>/.hydra/config.yaml`` (the same config before interpolations are resolved)::

    config
    ├── data
    │   source: synthetic
    │   ...
    └── (top level)
        seed: 42
        tags: [ablation]
"""

from __future__ import annotations

import logging

from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)

# the groups first, in the order a reader follows a run; the top-level values last
ORDER = ("data", "model", "stage", "optimizer", "scheduler", "budget", "trainer", "callbacks", "logger", "dream",
         "paths")


def config_tree(cfg: DictConfig) -> str:
    """``cfg`` resolved, one branch per group (YAML inside), the top-level values as the last branch."""
    groups = [key for key in ORDER if key in cfg] + [
        key for key in cfg if key not in ORDER and OmegaConf.is_dict(cfg[key])]
    values = {key: cfg[key] for key in cfg if key not in groups}
    branches = [(key, cfg[key]) for key in groups] + [("(top level)", OmegaConf.create(values))]
    lines = ["config"]
    for i, (name, node) in enumerate(branches):
        last = i == len(branches) - 1
        lines.append(("└── " if last else "├── ") + name)
        body = OmegaConf.to_yaml(node, resolve=True).rstrip("\n").splitlines() if node else ["{}"]
        lines += [("    " if last else "│   ") + line for line in body]
    return "\n".join(lines)


def log_config_tree(cfg: DictConfig) -> None:
    log.info("%s", config_tree(cfg))
