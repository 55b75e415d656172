"""What each latent action does from here: one short rollout per latent action from the same frames. A player of a
world whose actions have no names (a video world) picks keys by watching these (play's previews); the report's
action grid shows them from several held-out starts."""

from __future__ import annotations

import numpy as np
import torch

from genie.nn.pixels import to_uint8
from genie.world import WorldModel


@torch.no_grad()
def action_rollouts(world: WorldModel, context_Thw: torch.Tensor, steps: int, temperature: float = 0.0,
                    seed: int | None = None) -> np.ndarray:
    """One rollout per latent action from the same context: tokens int [T, h, w] -> uint8 [K, steps + 1, H, W, 3];
    row a starts at the context's last frame and holds action a for ``steps`` frames."""
    K = world.num_actions
    context_KThw = context_Thw[None].expand(K, -1, -1, -1)
    actions_KS = torch.arange(K)[:, None].expand(K, steps)
    tokens = world.rollout(context_KThw, actions_KS, temperature, seed)[:, context_Thw.shape[0] - 1 :]
    return to_uint8(world.decode(tokens)).cpu().numpy()
