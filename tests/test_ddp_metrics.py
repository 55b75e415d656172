"""Validation metrics of one model over 2 DDP ranks equal those of one process on the same validation data."""

import lightning as L
import pytest
import torch

from genie.data.datamodule import ClipDataModule
from genie.data.prepare import prepare_store
from genie.models.lam import LAMModule
from genie.training.stage_builders import RunInputs, build_lam, build_tokenizer
from tests.conftest import LeaveProcessGroup, compose_train

# exact for counts (codes used, codebook usage), float32 sum order for averages
TOLERANCE = {"codes_used": 1e-6, "codebook_usage": 1e-6}


class LAMWithSpreadCodes(LAMModule):
    """An untrained LAM gives every clip one code; these codes depend on the clip, so NMI and codes used vary by rank."""

    def compute_loss(self, batch):
        loss, logs = super().compute_loss(batch)
        brightness = batch["frames"][:, -1].float().mean((1, 2, 3))  # differs from clip to clip
        return loss, logs | {"codes": (brightness * 1000).long() % self.net.num_actions}


def build_lam_with_spread_codes(inputs: RunInputs):
    setup = build_lam(inputs)
    setup.module = LAMWithSpreadCodes(**setup.module.hparams)
    return setup


def validate(module: L.LightningModule, datamodule: ClipDataModule, devices: int) -> dict[str, float]:
    trainer = L.Trainer(accelerator="cpu", devices=devices, strategy="ddp_spawn" if devices > 1 else "auto",
                        precision="32-true", logger=False, enable_progress_bar=False, enable_model_summary=False,
                        enable_checkpointing=False, callbacks=[LeaveProcessGroup()])
    (metrics,) = trainer.validate(module, datamodule=datamodule, verbose=False)
    return {k.split("/", 1)[1]: float(v) for k, v in metrics.items()}


@pytest.mark.slow
@pytest.mark.parametrize("build", [build_tokenizer, build_lam_with_spread_codes], ids=["tokenizer", "lam"])
def test_two_rank_validation_equals_one_process(tmp_path, shared_data, build):
    from omegaconf import OmegaConf

    cfg = compose_train(tmp_path, data_dir=shared_data)
    store = prepare_store(OmegaConf.to_container(cfg.data, resolve=True))
    torch.manual_seed(0)
    setup = build(RunInputs(cfg, tmp_path, store, {}))
    # 6 val clips: 3 a rank, one batch each, so no rank pads its share with repeated clips
    setup.datamodule.batch_size = 8
    one = validate(setup.module, setup.datamodule, devices=1)
    two = validate(setup.module, setup.datamodule, devices=2)
    assert one.keys() == two.keys() and len(one) >= 3
    assert one.get("codes_used", 2) > 1  # the LAM's codes are spread
    for key in one:
        assert abs(one[key] - two[key]) <= TOLERANCE.get(key, 1e-4) * max(1.0, abs(one[key])), (key, one[key], two[key])
