"""A scripted world model for the play tests: every latent action visibly changes its own band of the frame, so a
test can tell actions apart by pixels without depending on how well a tiny model trained. It has the interface
WorldModel needs (tokenizer encode/decode, LAM num_actions, dynamics predict_next + cfg.window)."""

from __future__ import annotations

from types import SimpleNamespace

import torch
from torch import nn

from genie.world import WorldModel


class BlockTokenizer(nn.Module):
    """4x4 pixel blocks <-> tokens: a block's mean grey level picks one of ``num_codes`` palette colours."""

    def __init__(self, num_codes: int = 16):
        super().__init__()
        hue = torch.linspace(0, 1, num_codes)
        self.palette = nn.Parameter(torch.stack([hue, 1 - hue, (hue * 3) % 1], dim=1), requires_grad=False)

    def encode(self, x_BCHW: torch.Tensor) -> torch.Tensor:
        grey_Bhw = nn.functional.avg_pool2d(x_BCHW.mean(1, keepdim=True), 4)[:, 0]
        return (grey_Bhw * (len(self.palette) - 1)).round().long()

    def decode(self, tokens_Bhw: torch.Tensor) -> torch.Tensor:
        rgb_BhwC = self.palette[tokens_Bhw]
        return rgb_BhwC.permute(0, 3, 1, 2).repeat_interleave(4, 2).repeat_interleave(4, 3)


class BandDynamics(nn.Module):
    """Action a adds 1 (mod num_codes) to the tokens of horizontal band a of the last frame; the rest stays."""

    def __init__(self, num_actions: int, num_codes: int, window: int = 2):
        super().__init__()
        self.cfg = SimpleNamespace(window=window, num_actions=num_actions)
        self.num_actions, self.num_codes = num_actions, num_codes

    def predict_next(self, tokens_BThw: torch.Tensor, actions_B: torch.Tensor, temperature: float = 0.0,
                     generator: torch.Generator | None = None) -> torch.Tensor:
        last_Bhw = tokens_BThw[:, -1]
        h = last_Bhw.shape[1]
        band_Bh = torch.arange(h, device=last_Bhw.device)[None] * self.num_actions // h == actions_B[:, None]
        return (last_Bhw + band_Bh[:, :, None].long()) % self.num_codes


class ActionCount(nn.Module):
    def __init__(self, num_actions: int):
        super().__init__()
        self.num_actions = num_actions


def scripted_world(num_actions: int = 4, frame_size: int = 32, num_codes: int = 16) -> WorldModel:
    return WorldModel(BlockTokenizer(num_codes), ActionCount(num_actions), BandDynamics(num_actions, num_codes),
                      frame_size)
