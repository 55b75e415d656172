"""Inference shortcuts give exactly what the training path gives: the quantiser's nearest codes without its
statistics, the tokenizer's and LAM's codes in channels-last layout, a world stepping with its dynamics' weights
stored in bf16 (genie/precision.py cast_autocast_weights), and a batch-1 dream on one thread with its actions' FiLM
modulations cached."""

import pytest
import torch

from genie.nn.cnn_forecaster import CNNForecaster, CNNForecasterConfig
from genie.nn.conv_vqvae import ConvVQVAE, ConvVQVAEConfig
from genie.nn.quantizer import VectorQuantizer
from genie.world import WorldModel
from tests.play_worlds import ActionCount, BlockTokenizer


def test_nearest_codes_are_the_codes_forward_assigns_across_chunks():
    torch.manual_seed(0)
    quantizer = VectorQuantizer(64, 8).eval()
    z = torch.randn(1000, 8) * 0.1
    assert torch.equal(quantizer.nearest(z, rows=128), quantizer(z).codes)


def test_channels_last_tokenizer_encodes_the_same_tokens():
    torch.manual_seed(0)
    net = ConvVQVAE(ConvVQVAEConfig(num_codes=32, code_dim=8, hidden=16)).eval()
    net.quantizer.codebook.copy_(torch.randn(32, 8))
    frames = torch.rand(6, 3, 64, 64)
    before = net.encode(frames)
    assert torch.equal(net.to(memory_format=torch.channels_last).encode(frames), before)
    assert len(before.unique()) > 1  # not a trivially constant code


def cnn_dynamics():
    cfg = CNNForecasterConfig(num_codes=16, num_actions=4, window=4, token_dim=8, hidden=16, dilations=(1, 2))
    return lambda: CNNForecaster(cfg)


def maskgit_dynamics():
    from genie.nn.maskgit import MaskGITConfig, MaskGITDynamics

    cfg = MaskGITConfig(num_codes=16, num_actions=4, window=4, d_model=32, layers=1, heads=2, max_grid=8,
                        decode_steps=2)
    return lambda: MaskGITDynamics(cfg)


@pytest.mark.parametrize("dynamics", [cnn_dynamics, maskgit_dynamics])
def test_a_bf16_world_steps_as_autocast_over_float32_weights(dynamics):
    torch.manual_seed(0)
    build = dynamics()
    reference = build().eval()
    world = WorldModel(BlockTokenizer(16), ActionCount(4), build(), frame_size=32, bf16=True)
    world.dynamics.load_state_dict(reference.state_dict())
    linear = next(m for m in world.dynamics.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)))
    assert linear.weight.dtype == torch.bfloat16  # no copy per step
    context, actions = torch.randint(0, 16, (3, 4, 8, 8)), torch.randint(0, 4, (3, 5))
    dreamed = world.rollout(context, actions)
    tokens = context
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        for s in range(actions.shape[1]):
            tokens = torch.cat([tokens, reference.predict_next(tokens[:, -4:], actions[:, s])[:, None]], 1)
    assert torch.equal(dreamed, tokens)


@pytest.mark.parametrize("bf16", [False, True])
@pytest.mark.parametrize("action_history", [1, 3])
def test_a_batch_one_dream_gives_the_argmax_of_the_uncached_forward_step_by_step(bf16, action_history):
    torch.manual_seed(0)
    net = CNNForecaster(CNNForecasterConfig(num_codes=16, num_actions=4, window=4, token_dim=8, hidden=16,
                                            dilations=(1, 2), action_history=action_history))
    world = WorldModel(BlockTokenizer(16), ActionCount(4), net, frame_size=32, bf16=bf16)
    context, actions = torch.randint(0, 16, (1, 4, 8, 8)), torch.randint(0, 4, (1, 12))
    dreamed = world.rollout(context, actions)
    assert 0 < len(net._modulation_cache) <= 4 ** action_history  # one entry per run of recent actions seen
    tokens = context
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        for s in range(actions.shape[1]):
            recent = net.recent_actions(actions[:, max(0, s + 1 - action_history) : s + 1])
            tokens = torch.cat([tokens, net(tokens[:, -4:], recent).argmax(1)[:, None]], 1)
    assert torch.equal(dreamed, tokens)


def test_cached_modulations_follow_the_weights_and_skip_batches():
    net = cnn_dynamics()().eval()
    action = torch.tensor([2])
    with torch.no_grad():
        first = net.cached_modulations(action)
        assert net.cached_modulations(action) is first  # computed once
        assert net.cached_modulations(torch.tensor([2, 3])) is None  # a batch of two computes its own
        net.blocks[0].film.bias.add_(1.0)  # the weights move, as in a training step
        scale, shift = net.cached_modulations(action)[0]
        assert torch.equal(shift, net.modulations(action)[0][1]) and not torch.equal(shift, first[0][1])


def test_a_batch_of_one_runs_on_one_thread_and_gives_the_threads_back():
    from genie.device import one_thread_for_batch_one

    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with one_thread_for_batch_one(1, torch.device("cpu")):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        with one_thread_for_batch_one(8, torch.device("cpu")):
            assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(threads)
