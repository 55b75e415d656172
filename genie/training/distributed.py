"""One run across many processes.

Three launchers start the ranks of a multi-device run:

* Lightning's own (``trainer.strategy=ddp``): the first ``fit`` re-runs this script for ranks 1.. with the same
  ``hydra.run.dir``; those ranks find the data prepared and start training when the parent does.
* ``torchrun`` and SLURM ``srun``: every rank runs the whole script from the start. Lightning's cluster environments
  read the ranks from the launcher; the process group is started at once (Lightning's DDP strategy reuses it), so
  rank 0 can prepare data while the others wait, and the run directory follows from the launcher's job identity
  (``run_id`` below), the same on every rank.

Work that writes shared files runs on rank 0 (``rank_zero_first`` when the other ranks need its result).
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager

import torch
import torch.distributed as dist
from lightning.fabric.plugins.environments import ClusterEnvironment, SLURMEnvironment, TorchElasticEnvironment
from lightning.fabric.utilities.rank_zero import rank_zero_only


def launcher_environment() -> ClusterEnvironment | None:
    """The torchrun or srun environment of a run with more than one process, else None (one process, or ranks that
    Lightning launches itself)."""
    if TorchElasticEnvironment.detect():
        env: ClusterEnvironment = TorchElasticEnvironment()
    elif SLURMEnvironment.detect() and "SLURM_PROCID" in os.environ:
        env = SLURMEnvironment()
    else:
        return None
    return env if env.world_size() > 1 else None


def run_id() -> str:
    """The run directory's name: the launcher's job identity under torchrun / srun (so every rank, and a restarted
    job, agree), else the start time and a random suffix."""
    if os.environ.get("SLURM_JOB_ID") and int(os.environ.get("SLURM_NTASKS", "1")) > 1:
        array = os.environ.get("SLURM_ARRAY_TASK_ID")
        job = os.environ["SLURM_JOB_ID"] + (f"_{array}" if array else "")
        return f"slurm-{job}-step{os.environ.get('SLURM_STEP_ID', '0')}"
    if "TORCHELASTIC_RUN_ID" in os.environ:
        rdzv = os.environ["TORCHELASTIC_RUN_ID"]
        # without --rdzv-id (one node, static rendezvous) the ranks share their agent process and its port
        job = rdzv if rdzv != "none" else f"{os.environ.get('MASTER_PORT', '0')}-{os.getppid()}"
        return f"torchrun-{job}"
    return f"{time.strftime('%Y-%m-%d_%H-%M-%S')}_{os.urandom(3).hex()}"


def join_launched_processes() -> None:
    """Under torchrun / srun, start the process group now, with the backend Lightning would pick."""
    env = launcher_environment()
    if env is None or dist.is_initialized():
        return
    os.environ.setdefault("MASTER_ADDR", env.main_address)
    os.environ.setdefault("MASTER_PORT", str(env.main_port))
    backend = "cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend, rank=env.global_rank(), world_size=env.world_size())


def global_rank() -> int:
    """This process's rank: from the process group once there is one, else from the launcher's environment."""
    return dist.get_rank() if dist.is_initialized() else rank_zero_only.rank


def is_rank_zero() -> bool:
    return global_rank() == 0


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def leave_process_group() -> None:
    """Every rank ends its share of a run here, after its last collective: the process group is destroyed while all
    ranks are still alive. Left to interpreter exit, gloo's threads are torn down while another rank may still be
    working (rank 0 writes the report alone), and a rank can abort there (SIGABRT, "terminate called without an
    active exception"); Lightning destroys the group at exit only for NCCL."""
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


@contextmanager
def rank_zero_first():
    """Rank 0 runs the block first (writing files), then the other ranks (finding them written)."""
    if not is_rank_zero():
        barrier()
    yield
    if is_rank_zero():
        barrier()
