"""How far each stage's training step is from what this CPU can do, what dominates it, and what torch.compile buys.

    python -m benchmarks.utilisation --run runs/<a trained run> [--steps 40] [--stages tokenizer lam dynamics]
                                     [--out benchmarks/results/utilisation.json]

In one process, for each stage (the module built by train.py's own builders from the default config, on a batch
from the run's store; the dynamics on its token store):

* **FLOPs per step**: forward and backward of one training step, counted by ``torch.utils.flop_counter``
  (matmuls and convolutions; elementwise work is not counted, so utilisation is a lower bound);
* **eager steps/s**: a bare loop (forward, backward, AdamW step) on that one batch, at the stage's precision;
* **compiled steps/s**: the same loop with ``torch.compile`` (inductor) on the loss, and the seconds its first
  steps took to compile; and eager with the fused AdamW. The three alternate in blocks of 5 steps, so machine
  drift hits them alike;
* **peak**: a large matmul at the stage's precision (fp32, or bf16 under bf16-mixed), timed right after the
  stage's steps;
* **profile**: the operators with the most self CPU time over a few eager steps (``torch.profiler``).

Utilisation = FLOPs per step x steps/s / the peak of the stage's precision.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import lightning as L
import torch
from torch.profiler import ProfilerActivity, profile
from torch.utils.flop_counter import FlopCounterMode

from benchmarks.overhead import STAGES, train_config, training_step
from genie.checkpoints import read_world
from genie.data.store import EpisodeStore
from genie.training.stage_builders import BUILDERS, RunInputs

ROOT = Path(__file__).resolve().parents[1]


def matmul_peak(dtype: torch.dtype, size: int = 2048, repeats: int = 8) -> float:
    """GFLOP/s of a size x size matmul in ``dtype``, the best of ``repeats``."""
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def alternating_steps_per_second(steps: dict, warmup: int, blocks: int, block: int) -> tuple[dict, dict]:
    """Each of ``steps`` (name -> one training step) run ``warmup`` times (timed apart: compilation happens here),
    then ``blocks`` rounds of ``block`` steps of each in turn, so a drifting machine slows them alike.
    -> ({name: steps/s}, {name: warm-up seconds})."""
    warm, busy = {}, dict.fromkeys(steps, 0.0)
    for name, step in steps.items():
        start = time.perf_counter()
        for _ in range(warmup):
            step()
        warm[name] = time.perf_counter() - start
    for _ in range(blocks):
        for name, step in steps.items():
            start = time.perf_counter()
            for _ in range(block):
                step()
            busy[name] += time.perf_counter() - start
    return {name: blocks * block / seconds for name, seconds in busy.items()}, warm


def flops_per_step(module: L.LightningModule, batch, bf16: bool) -> int:
    with FlopCounterMode(display=False) as counter:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = module.compute_loss(batch)[0]
        loss.backward()
    module.zero_grad(set_to_none=True)
    return counter.get_total_flops()


def top_operators(step, steps: int = 5, top: int = 6) -> list[dict]:
    """The operators with the most self CPU time over ``steps`` steps, with their share of it."""
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    averages = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in averages)
    return [{"op": e.key, "share": round(e.self_cpu_time_total / total, 3)} for e in averages[:top]]


def measure_stage(cfg, stage: str, inputs: RunInputs, precision: str, warmup: int, steps: int) -> dict:
    L.seed_everything(cfg.seed, verbose=False)
    setup = BUILDERS[stage](inputs)
    module, data = setup.module.train(), setup.datamodule
    data.setup("fit")
    batch = next(iter(data.train_dataloader()))
    bf16 = precision == "bf16-mixed"
    optimizer = torch.optim.AdamW(module.parameters(), lr=1e-4)  # the default: foreach
    fused = torch.optim.AdamW(module.parameters(), lr=1e-4, fused=True)
    flops = flops_per_step(module, batch, bf16)
    compiled_loss = torch.compile(module.compute_loss)
    speed, warm = alternating_steps_per_second(
        {"eager": lambda: training_step(optimizer, module.compute_loss, batch, bf16),
         "fused_adamw": lambda: training_step(fused, module.compute_loss, batch, bf16),
         "compiled": lambda: training_step(optimizer, compiled_loss, batch, bf16)},
        warmup, max(1, steps // 5), 5)
    profiled = top_operators(lambda: training_step(optimizer, module.compute_loss, batch, bf16))
    torch._dynamo.reset()
    peak = matmul_peak(torch.bfloat16 if bf16 else torch.float32)  # right after the steps: the same machine load
    eager, compiled = speed["eager"], speed["compiled"]
    return {
        "batch_size": cfg.budget[stage].batch_size, "gflop_per_step": round(flops / 1e9, 2),
        "gflop_per_sample": round(flops / 1e9 / cfg.budget[stage].batch_size, 3),
        "eager_steps_per_s": round(eager, 2), "utilisation": round(flops * eager / 1e9 / peak, 3),
        "compiled_steps_per_s": round(compiled, 2), "compiled_over_eager": round(compiled / eager, 3),
        "fused_adamw_over_eager": round(speed["fused_adamw"] / eager, 3),
        "compile_warmup_s": round(warm["compiled"] - warm["eager"], 1), "matmul_peak_gflop_per_s": round(peak, 1),
        "top_operators": profiled,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, required=True, help="a trained run (its store, tokenizer and LAM)")
    parser.add_argument("--steps", type=int, default=40, help="timed steps per loop")
    parser.add_argument("--warmup", type=int, default=15,
                        help="untimed steps first (compilation, and recompilation while the codebook settles)")
    parser.add_argument("--stages", nargs="+", default=list(STAGES), choices=STAGES)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "utilisation.json")
    parser.add_argument("overrides", nargs="*", help="train.py overrides (e.g. trainer.precision=32-true)")
    args = parser.parse_args()
    from benchmarks.run import machine

    world = read_world(args.run)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = train_config(Path(tmp), args.overrides)
        precision = str(cfg.trainer.precision)
        results: dict = {"machine": machine(), "date": time.strftime("%Y-%m-%d"), "precision": precision,
                         "steps": args.steps, "stages": {}}
        store = EpisodeStore(world["data"])
        for stage in args.stages:
            inputs = RunInputs(cfg, Path(tmp), store, {s: world[s] for s in ("tokenizer", "lam")})
            results["stages"][stage] = measure_stage(cfg, stage, inputs, precision, args.warmup, args.steps)
            print(stage, results["stages"][stage], flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
