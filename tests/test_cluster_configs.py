"""Cluster configs compose from the real YAML: FSDP for the paper-scale presets, SLURM through submitit."""

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.utils import instantiate
from lightning.pytorch.strategies import FSDPStrategy
from omegaconf import OmegaConf

from tests.conftest import CONFIGS, compose_train


def test_fsdp_trainer_config_builds_lightnings_fsdp_strategy(tmp_path):
    cfg = compose_train(tmp_path, "trainer=fsdp", "trainer.num_nodes=2")
    strategy = instantiate(cfg.trainer.strategy)
    assert isinstance(strategy, FSDPStrategy)
    assert cfg.trainer.accelerator == "gpu" and cfg.trainer.precision == "bf16-mixed" and cfg.trainer.num_nodes == 2


def test_slurm_launcher_asks_for_one_task_per_gpu_on_every_node():
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=CONFIGS, version_base="1.3"):
        cfg = compose("train", overrides=["hydra/launcher=slurm", "trainer=ddp", "trainer.devices=4",
                                          "trainer.num_nodes=2"], return_hydra_config=True)
    GlobalHydra.instance().clear()
    launcher = OmegaConf.to_container(cfg.hydra.launcher, resolve=False)
    assert launcher["_target_"].endswith("SlurmLauncher")
    assert cfg.hydra.launcher.nodes == 2 and cfg.hydra.launcher.tasks_per_node == 4
    assert cfg.hydra.launcher.gpus_per_node == 4
