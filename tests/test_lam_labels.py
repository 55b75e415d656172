"""A few true actions as auxiliary supervision of the LAM (model.lam.labelled_fraction): which transitions count as
labelled, what the effect head learns, and the settings that cannot work, refused naming their key."""

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from genie.checkpoints import load_module, read_world
from genie.data.store import EpisodeStore
from genie.controls.transitions import LOOKAHEAD, key_lookahead
from genie.errors import UserError
from genie.eval.settings import KeyControllerSettings
from genie.models.action_labels import labelled_transitions
from genie.models.lam import LAMModule
from genie.models.world import WorldTrainingModule
from genie.training.pipeline import train
from genie.training.stage_builders import lam_overrides
from tests.conftest import compose_train

SMALL_NET = {"window": 2, "code_dim": 8, "hidden": 16, "downsamples": 2, "num_actions": 4, "lookahead": 0}


def test_the_labelled_transitions_are_a_fixed_share_spread_through_every_episode():
    episode_N = torch.arange(20).repeat_interleave(2000)
    frame_N = torch.arange(2000).repeat(20)
    labelled_N = labelled_transitions(episode_N, frame_N, 0.02)
    assert abs(labelled_N.float().mean() - 0.02) < 0.002
    assert torch.equal(labelled_N, labelled_transitions(episode_N, frame_N, 0.02))  # every epoch, every rank
    per_stretch = labelled_N.view(-1, 500).sum(1)  # no long unlabelled stretches, no clumps
    assert per_stretch.min() >= 5 and per_stretch.max() <= 15
    assert not labelled_transitions(episode_N, frame_N, 0.0).any()
    assert labelled_transitions(episode_N, frame_N, 1.0).all()
    # a larger share keeps every transition the smaller one labelled
    assert (labelled_transitions(episode_N, frame_N, 0.05) | ~labelled_N).all()


def scroll_batch(world_CHW: torch.Tensor, n: int, start: int) -> dict[str, torch.Tensor]:
    """n clips of 3 frames (32 px) cut from one picture, each scrolling 2 px a frame left (true action 0) or right
    (1) from a random place, as the LAM's training batches: uint8 frames [n, 3, 32, 32, 3], actions, where from."""
    generator = torch.Generator().manual_seed(start)
    direction_B = torch.arange(n) % 2
    clips = []
    for direction in direction_B.tolist():
        origin = int(torch.randint(8, world_CHW.shape[-1] - 40, (1,), generator=generator))
        shifts = [origin + (2 * t if direction else -2 * t) for t in range(3)]
        clips.append(torch.stack([world_CHW[:, :, s : s + 32] for s in shifts]))
    frames = (torch.stack(clips).permute(0, 1, 3, 4, 2) * 255).to(torch.uint8)
    return {"frames": frames, "actions": direction_B[:, None].repeat(1, 2), "episode": torch.zeros(n, dtype=torch.long),
            "start": torch.arange(start, start + n)}


def test_labelled_transitions_teach_the_encoder_what_the_player_did():
    """Clips scrolling left or right, every one labelled with its direction: after a short training the effect head
    reads the direction of unseen clips from the encoder's vectors."""
    torch.manual_seed(0)
    module = LAMModule(SMALL_NET, frame_size=32, labelled_fraction=1.0, effect_of_action=[0, 1],
                       effect_names=["LEFT", "RIGHT"])
    optimizer = torch.optim.Adam(module.parameters(), lr=3e-3)
    world_CHW = torch.rand(3, 32, 80)
    for step in range(100):
        loss, logs = module.compute_loss(scroll_batch(world_CHW, 16, 16 * step))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    module.eval()
    with torch.no_grad():
        _, logs = module.compute_loss(scroll_batch(world_CHW, 32, 10_000))
    assert (logs["effect_logits"].argmax(-1) == logs["effects"]).float().mean() >= 0.9


def test_only_labelled_clips_train_the_head():
    """Half of the clips labelled: the label loss is the cross-entropy of those clips alone over the batch size; a
    batch without a labelled clip adds nothing to the loss."""
    torch.manual_seed(0)
    module = LAMModule(SMALL_NET, frame_size=32, labelled_fraction=0.5, effect_of_action=[0, 1],
                       effect_names=["LEFT", "RIGHT"])
    world_CHW = torch.rand(3, 32, 80)
    batch = scroll_batch(world_CHW, 64, 0)
    _, logs = module.compute_loss(batch)
    labelled_B = labelled_transitions(batch["episode"], batch["start"] + module.window - 1, 0.5)
    assert 20 < labelled_B.sum() < 44
    ce_B = torch.nn.functional.cross_entropy(logs["effect_logits"], batch["actions"][:, 1], reduction="none")
    assert torch.allclose(logs["label_loss"], ce_B[labelled_B].sum() / 64)
    module.hparams.labelled_fraction = 0.0  # no labelled clip in the batch: no label loss, the head still in the graph
    _, logs = module.compute_loss(scroll_batch(world_CHW, 8, 0))
    assert logs["label_loss"] == 0 and logs["label_loss"].requires_grad


def test_a_lam_with_labels_is_saved_with_its_head_and_a_label_free_one_without(tmp_path):
    labelled = LAMModule(SMALL_NET, frame_size=32, labelled_fraction=0.02, effect_of_action=[0, 1, 1],
                         effect_names=["LEFT", "RIGHT"])
    torch.save({"state_dict": labelled.state_dict(), "hyper_parameters": dict(labelled.hparams)},
               tmp_path / "labelled.ckpt")
    loaded = load_module(tmp_path / "labelled.ckpt", "lam")
    assert torch.equal(loaded.effect_head.linear.weight, labelled.effect_head.linear.weight)
    assert loaded.effect_of_action.tolist() == [0, 1, 1]
    label_free = LAMModule(SMALL_NET, frame_size=32)
    assert label_free.effect_head is None and not any("effect" in k for k in label_free.state_dict())


def test_settings_that_cannot_train_with_labels_are_refused_naming_the_key(tmp_path):
    with pytest.raises(UserError, match="model.lam.labelled_fraction"):
        LAMModule(SMALL_NET, frame_size=32, labelled_fraction=1.5, effect_of_action=[0], effect_names=["A"])
    with pytest.raises(UserError, match="model.lam.labelled_fraction > 0 needs a store"):
        LAMModule(SMALL_NET, frame_size=32, labelled_fraction=0.02)
    no_actions = SimpleNamespace(frame_size=32, root=tmp_path / "videos", effects=lambda: None)
    inputs = SimpleNamespace(store=no_actions, cfg=SimpleNamespace(model=SimpleNamespace(
        lam=SimpleNamespace(labelled_fraction=0.02))))
    with pytest.raises(UserError, match=r"model.lam.labelled_fraction: the store .*videos has no true actions"):
        lam_overrides(inputs)
    with pytest.raises(UserError, match="stage=world co-training is label-free"):
        WorldTrainingModule(tokenizer={}, lam={"net": SMALL_NET, "labelled_fraction": 0.02}, dynamics={})


@pytest.mark.slow
def test_the_lam_stage_learns_from_a_few_labels_through_the_real_config(tmp_path, shared_data):
    cfg = compose_train(tmp_path, "stage=lam", "model.lam.labelled_fraction=0.05", data_dir=shared_data)
    metrics = train(cfg)
    assert 0.0 <= metrics["lam/val/effect_accuracy"] <= 1.0
    lam = load_module(read_world(Path(cfg.paths.output_dir))["lam"], "lam")
    assert lam.effect_head is not None and lam.hparams.labelled_fraction == 0.05
    assert lam.hparams.effect_names == EpisodeStore(cfg.data.path).effects()[1]


def test_a_label_free_world_says_so_in_its_report(trained_run, world):
    """The default LAM learned from no labels: the world says 0 and the report has no labelled share to flag."""
    assert world.labelled_fraction == 0.0
    assert "lam/labelled_fraction" not in json.loads((trained_run / "dream" / "metrics.json").read_text())


def test_keys_are_fitted_to_the_code_of_their_first_frame_where_the_lam_learned_from_labels():
    """A labelled LAM's codes name the key from a transition's first frame, a label-free one's only a few frames into
    the hold: the key controls aim at the code 0 / 2 frames in, unless the report says otherwise."""
    assert key_lookahead(SimpleNamespace(labelled_fraction=0.05)) == 0
    assert key_lookahead(SimpleNamespace(labelled_fraction=0.0)) == LOOKAHEAD == 2
    assert KeyControllerSettings().lookahead is None
