"""What Lightning costs over a bare PyTorch loop, per stage, on real data.

    python -m benchmarks.overhead --run runs/<a trained run> [--steps 150] [--repeats 3]
                                  [--out benchmarks/results/overhead.json]

For each stage the same module (built by train.py's own builders from the default config), the same DataLoader over
the run's store (its token store for the dynamics), the same optimiser and LR schedule and the same precision are run
twice, alternately, in one process:

* **bare**: for each batch, forward (``compute_loss``), backward, optimiser and scheduler step, nothing else;
* **lightning**: the Trainer ``train.py`` builds for that stage (its callbacks, logger, gradient clipping), fitted
  for the same number of steps, validation off.

Both are timed over the same steps after a warm-up, data loading included; the ratio lightning / bare is the
framework's overhead. The pair is repeated ``--repeats`` times, alternating which goes first, and the median ratio
is reported beside each repeat's (a shared machine's speed drifts between the two halves of one pair). The run
supplies the store and, for the dynamics, the tokenizer and LAM whose token store it reads (built and cached on
first use, as train.py does).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import lightning as L
import torch
from hydra import compose, initialize_config_dir
from omegaconf import open_dict

from genie.checkpoints import read_world
from genie.cli import register_resolvers
from genie.data.store import EpisodeStore
from genie.training.stage_builders import BUILDERS, RunInputs
from genie.training.stage_trainer import stage_trainer

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("tokenizer", "lam", "dynamics")


def train_config(run_dir: Path, overrides: list[str]):
    register_resolvers()
    with initialize_config_dir(config_dir=str(ROOT / "genie" / "configs"), version_base="1.3"):
        cfg = compose("train", overrides=[f"paths.output_dir={run_dir}", f"paths.root_dir={ROOT}", "logger=csv",
                                          *overrides])
    with open_dict(cfg):
        cfg.model.lam.net.window = cfg.window
    return cfg


class StepClock(L.Callback):
    """Wall-clock from the start of batch ``warmup`` to the end of the last batch."""

    def __init__(self, warmup: int):
        self.warmup, self.start, self.end = warmup, 0.0, 0.0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_step == self.warmup:
            self.start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.end = time.perf_counter()


def lightning_seconds(cfg, stage: str, inputs: RunInputs, warmup: int, steps: int) -> float:
    L.seed_everything(cfg.seed, verbose=False)
    setup = BUILDERS[stage](inputs)
    with open_dict(cfg):
        cfg.budget[stage].update(max_steps=warmup + steps, max_time=None, val_check_interval=None,
                                 limit_val_batches=0)
    trainer = stage_trainer(cfg, stage, inputs.run_dir, None)
    clock = StepClock(warmup)
    trainer.callbacks.append(clock)
    trainer.fit(setup.module, datamodule=setup.datamodule)
    return clock.end - clock.start


def training_step(optimizer: torch.optim.Optimizer, loss_of, batch, bf16: bool) -> None:
    """Forward (``loss_of(batch)[0]``, under bf16 autocast where asked), backward and the optimiser's step."""
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        loss = loss_of(batch)[0]
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


def bare_seconds(cfg, stage: str, inputs: RunInputs, warmup: int, steps: int, precision: str) -> float:
    L.seed_everything(cfg.seed, verbose=False)
    setup = BUILDERS[stage](inputs)
    module, data = setup.module, setup.datamodule
    data.setup("fit")
    optimizers = module.configure_optimizers()
    optimizer, scheduler = optimizers["optimizer"], optimizers["lr_scheduler"]["scheduler"]
    module.train()
    batches = iter(data.train_dataloader())
    start = 0.0
    for step in range(warmup + steps):
        if step == warmup:
            start = time.perf_counter()
        training_step(optimizer, module.compute_loss, next(batches), precision == "bf16-mixed")
        scheduler.step()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, required=True, help="a trained run (its store, tokenizer and LAM)")
    parser.add_argument("--steps", type=int, default=150, help="timed optimiser steps per stage and loop")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--stages", nargs="+", default=list(STAGES), choices=STAGES)
    parser.add_argument("--repeats", type=int, default=3, help="bare / Lightning pairs per stage")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "overhead.json")
    parser.add_argument("overrides", nargs="*", help="train.py overrides (e.g. trainer.log_every_n_steps=50)")
    args = parser.parse_args()
    from benchmarks.run import machine

    world = read_world(args.run)
    results: dict = {"machine": machine(), "date": time.strftime("%Y-%m-%d"), "steps": args.steps,
                     "repeats": args.repeats,
                     "overrides": args.overrides, "stages": {}}
    with tempfile.TemporaryDirectory() as tmp:
        cfg = train_config(Path(tmp), args.overrides)
        precision = str(cfg.trainer.precision)
        results["precision"] = precision
        store = EpisodeStore(world["data"])
        components = {s: world[s] for s in ("tokenizer", "lam")}
        for stage in args.stages:
            bare, framework = [], []
            for repeat in range(args.repeats):
                inputs = RunInputs(cfg, Path(tmp), store, dict(components))
                pair = [lambda: bare.append(bare_seconds(cfg, stage, inputs, args.warmup, args.steps, precision)),
                        lambda: framework.append(lightning_seconds(cfg.copy(), stage, inputs, args.warmup,
                                                                   args.steps))]
                for run in pair if repeat % 2 == 0 else pair[::-1]:
                    run()
            ratios = [f / b for f, b in zip(framework, bare)]
            results["stages"][stage] = {
                "bare_steps_per_s": round(args.steps / statistics.median(bare), 2),
                "lightning_steps_per_s": round(args.steps / statistics.median(framework), 2),
                "batch_size": cfg.budget[stage].batch_size, "overhead": round(statistics.median(ratios) - 1, 3),
                "overhead_per_repeat": [round(r - 1, 3) for r in ratios],
            }
            print(stage, results["stages"][stage], flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
