"""Key controller: which latent action a pressed key means *here*: tokens of the last W frames + the key's effect
(CoinRun: LEFT / RIGHT / JUMP / NOTHING) -> logits over the LAM's codes.

The LAM's codes describe what changed between two frames (in CoinRun, mostly how the camera moved), so one key does
not always take one code: RIGHT against a wall leaves the camera still, NOTHING in mid-air falls. A fixed key->code
map makes the player walk through walls and float; this net learns p(code | history, key) from labelled transitions,
so collisions and gravity come with the key (genie/controls/key_controls.py).

It also reads how many frames the key has been held. In CoinRun a walk from a standstill starts at one pixel per
frame, which the LAM codes like standing still; only from the next frames on is it the walking code. Without the
count, a controller at rest always picks the first frame's code for RIGHT, and the dreamed player never sets off.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from genie.nn.blocks import FiLMResBlock


@dataclass
class KeyControllerConfig:
    num_codes: int = 512  # tokenizer codebook
    num_actions: int = 16  # LAM codes: the classes
    num_effects: int = 4  # keys
    window: int = 4
    token_dim: int = 16
    hidden: int = 48
    effect_dim: int = 32
    dilations: tuple[int, ...] = (1, 2, 4)
    held_frames: int = 8  # frames of holding the key it tells apart (longer holds count as this many); 1: ignored


class KeyController(nn.Module):
    def __init__(self, cfg: KeyControllerConfig):
        super().__init__()
        self.cfg = cfg
        self.token_embedding = nn.Embedding(cfg.num_codes, cfg.token_dim)
        self.effect_embedding = nn.Embedding(cfg.num_effects, cfg.effect_dim)
        self.held_embedding = nn.Embedding(cfg.held_frames, cfg.effect_dim) if cfg.held_frames > 1 else None
        self.stem = nn.Conv2d(cfg.window * cfg.token_dim, cfg.hidden, 3, padding=1)
        self.blocks = nn.ModuleList([FiLMResBlock(cfg.hidden, cfg.effect_dim, d) for d in cfg.dilations])
        # where things are matters (a wall right of the player, not just somewhere): pool to a 4x4 grid and keep it
        self.pool = nn.Sequential(nn.ReLU(), nn.AdaptiveAvgPool2d(4), nn.Flatten())
        self.head = nn.Linear(cfg.hidden * 16, cfg.num_actions)

    def forward(self, tokens_BThw: torch.Tensor, effects_B: torch.Tensor, held_B: torch.Tensor) -> torch.Tensor:
        """tokens int [B, window, h, w] (the newest last), effect int [B], frames the key has been held int [B]
        (1: pressed this frame) -> logits [B, num_actions]."""
        B, T, h, w = tokens_BThw.shape
        if T != self.cfg.window:
            raise ValueError(f"key controller expects {self.cfg.window} history frames, got {T}")
        e_BThwE = self.token_embedding(tokens_BThw.long())
        x_BChw = self.stem(e_BThwE.permute(0, 1, 4, 2, 3).reshape(B, -1, h, w))
        effect_BE = self.effect_embedding(effects_B)
        if self.held_embedding is not None:
            effect_BE = effect_BE + self.held_embedding(held_B.clamp(1, self.cfg.held_frames) - 1)
        for block in self.blocks:
            x_BChw = block(x_BChw, effect_BE)
        return self.head(self.pool(x_BChw))
