"""stage=world: LAM + dynamics co-trained on a frozen tokenizer, saved as ordinary lam/dynamics checkpoints."""

from pathlib import Path

import pytest
import torch

from genie.checkpoints import read_world
from genie.data.datamodule import ClipDataModule
from genie.data.store import EpisodeStore
from genie.errors import UserError
from genie.models.world import WorldTrainingModule
from genie.training.pipeline import train
from genie.training.stage_builders import RunInputs, build_world
from genie.world import WorldModel
from tests.artefacts import check_artefact
from tests.conftest import compose_train
from tests.test_maskgit import TINY_MASKGIT_OVERRIDES


@pytest.fixture(scope="module")
def world_run(tmp_path_factory, shared_data) -> Path:
    tmp = tmp_path_factory.mktemp("world")
    cfg = compose_train(tmp, "stage=world", data_dir=shared_data)
    metrics = train(cfg)
    assert "dynamics/psnr_next" in metrics
    return Path(cfg.paths.output_dir)


@pytest.mark.slow
def test_world_stage_dreams_and_loads_like_a_staged_world(world_run):
    world = read_world(world_run)
    for stage in ("tokenizer", "lam", "dynamics"):
        assert Path(world[stage]) == world_run / "checkpoints" / stage / "final.ckpt"
    last = torch.load(world_run / "checkpoints" / "world" / "last.ckpt", map_location="cpu", weights_only=True)
    assert last["global_step"] > 0
    for name in ("dream.gif", "reconstruction.gif", "action_grid.gif", "latent_actions_tsne.png", "metrics.json"):
        check_artefact(world_run / "dream" / name)
    model = WorldModel.load(world_run)
    assert model.num_actions == 4 and model.window == 4


@pytest.mark.slow
def test_world_stage_resumes_from_its_last_checkpoint(tmp_path, world_run, shared_data):
    last = world_run / "checkpoints" / "world" / "last.ckpt"
    cfg = compose_train(tmp_path, "stage=world", f"ckpt_path={last}", "budget.world.max_steps=9", "stage.dream=false",
                        data_dir=shared_data)
    train(cfg)
    run = Path(cfg.paths.output_dir)
    assert not (run / "checkpoints" / "tokenizer").exists()  # reused from the resumed run
    lam = torch.load(read_world(run)["lam"], map_location="cpu", weights_only=True)
    assert lam["global_step"] == 9


@pytest.mark.slow
@pytest.mark.parametrize("dynamics", [(), TINY_MASKGIT_OVERRIDES], ids=["cnn", "maskgit"])
def test_dynamics_loss_does_not_reach_the_lam(tmp_path, world_run, shared_data, dynamics):
    cfg = compose_train(tmp_path, "stage=world", f"run.tokenizer={world_run}", *dynamics, data_dir=shared_data)
    world = read_world(world_run)
    store = EpisodeStore(world["data"])
    inputs = RunInputs(cfg, Path(cfg.paths.output_dir), store, {"tokenizer": world["tokenizer"]})
    module: WorldTrainingModule = build_world(inputs).module
    batch = next(iter(ClipDataModule(world["data"], "pixels", module.clip_len, 4).train_dataloader()))
    module.train()
    _, dynamics_loss, _ = module.compute_losses(batch)
    dynamics_loss.backward()
    assert all(p.grad is None or not p.grad.any() for p in module.lam.parameters())
    assert any(p.grad is not None and p.grad.any() for p in module.dynamics.parameters())
    assert all(p.grad is None for p in module.tokenizer.parameters()) and not module.tokenizer.training


def test_world_without_a_tokenizer_says_what_is_missing(tmp_path, shared_data):
    cfg = compose_train(tmp_path, "stage=world", "stage.stages=[world]", data_dir=shared_data)
    with pytest.raises(UserError, match="stage world needs a tokenizer"):
        train(cfg)

