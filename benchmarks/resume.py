"""Killed and resumed against uninterrupted: does a stage that survived ``kill -9`` end where it would have?

    python -m benchmarks.resume --run runs/<a trained run> [--stages tokenizer lam dynamics]
                                [--out benchmarks/results/resume.json]

For each stage, on real data at the default model sizes (``train.py`` in subprocesses, one thread each):

* **uninterrupted**: the stage trained for ``steps`` optimiser steps, validated at the end;
* **other seed**: the same with ``seed=43``: how far two uninterrupted runs land apart (the noise);
* **killed + resumed**: the same as uninterrupted, SIGKILLed once its checkpoint at ``steps / 2`` is on disk, then
  resumed with ``ckpt_path=<run>/checkpoints/<stage>/last.ckpt`` to the same ``steps``.

The final validation metrics of the three are compared: the resumed run should differ from the uninterrupted one by
no more than the other seed does. The run supplies the store and, for the LAM and dynamics, the earlier stages.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STEPS = {"tokenizer": 1000, "lam": 300, "dynamics": 200}


def command(run: Path, out: Path, stage: str, steps: int, *extra: str) -> list[str]:
    reuse = {"tokenizer": [], "lam": [f"run.tokenizer={run}"],
             "dynamics": [f"run.tokenizer={run}", f"run.lam={run}"]}[stage]
    return [sys.executable, str(ROOT / "train.py"), f"stage={stage}", *reuse, "logger=csv", "stage.dream=false",
            f"hydra.run.dir={out}", f"budget.{stage}.max_steps={steps}", f"budget.{stage}.max_time=null",
            f"budget.{stage}.val_check_interval={steps}", f"callbacks.model_checkpoint.every_n_train_steps={steps // 2}",
            *extra]


def environment() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1"}


def final_validation(out: Path) -> dict[str, float]:
    """The last row with validation metrics of the run's CSV log."""
    rows = [row for path in sorted(out.glob("logs/**/metrics.csv")) for row in csv.DictReader(path.open())]
    last = [row for row in rows if any(k.startswith("val/") and row[k] for k in row)][-1]
    return {k: float(v) for k, v in last.items() if k.startswith("val/") and v}


def kill_after_checkpoint(cmd: list[str], ckpt: Path, log: Path, timeout_s: float = 1800) -> None:
    with open(log, "w") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=environment())
    deadline = time.monotonic() + timeout_s
    while not ckpt.is_file():
        if process.poll() is not None:
            raise RuntimeError(f"finished before it could be killed: {log.read_text()[-2000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"no checkpoint at {ckpt} after {timeout_s} s")
        time.sleep(0.2)
    time.sleep(1.0)  # the kill lands mid-training, after the checkpoint's write
    process.send_signal(signal.SIGKILL)
    process.wait()


def compare(run: Path, stage: str, steps: int, tmp: Path) -> dict:
    runs = {}
    for name, extra in (("uninterrupted", []), ("other_seed", ["seed=43"])):
        out = tmp / f"{stage}_{name}"
        subprocess.run(command(run, out, stage, steps, *extra), check=True, env=environment(),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        runs[name] = final_validation(out)
    killed = tmp / f"{stage}_killed"
    last = killed / "checkpoints" / stage / "last.ckpt"
    kill_after_checkpoint(command(run, killed, stage, steps), last, tmp / f"{stage}_killed.log")
    import torch

    killed_at = torch.load(last, map_location="cpu", weights_only=True)["global_step"]
    resumed = tmp / f"{stage}_resumed"
    subprocess.run(command(run, resumed, stage, steps, f"ckpt_path={last}"), check=True, env=environment(),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    runs["killed_and_resumed"] = final_validation(resumed)
    base = runs["uninterrupted"]
    gaps = {name: {k: round(abs(v - base[k]), 5) for k, v in metrics.items() if k in base}
            for name, metrics in runs.items() if name != "uninterrupted"}
    return {"steps": steps, "killed_at_step": killed_at, "final_validation": runs, "gap_to_uninterrupted": gaps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--stages", nargs="+", default=list(STEPS), choices=list(STEPS))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "resume.json")
    args = parser.parse_args()
    from benchmarks.run import machine

    results = {"machine": machine(), "date": time.strftime("%Y-%m-%d"), "run": str(args.run), "stages": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for stage in args.stages:
            results["stages"][stage] = compare(args.run.resolve(), stage, STEPS[stage], Path(tmp))
            print(stage, json.dumps(results["stages"][stage]["gap_to_uninterrupted"]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
