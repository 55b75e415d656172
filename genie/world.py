"""WorldModel: tokenizer + latent actions + dynamics, loaded from one run directory. The inference API used by
dream.py, evaluation, play and the notebooks. Knows no UI and no Hydra.

Conventions: frames uint8 [B, T, H, W, 3] in, float [B, T, 3, H, W] in [0, 1] out of ``decode``; tokens int64
[B, T, h, w]; latent actions int64 in [0, num_actions). ``actions[:, t]`` moves frame t to frame t+1.
"""

from __future__ import annotations

from pathlib import Path

import torch

from genie.checkpoints import check_compatible, load_module, read_world
from genie.device import one_thread_for_batch_one
from genie.errors import UserError
from genie.nn.tokenizer_net import TokenizerNet
from genie.nn.latent_action_net import LatentActionNet
from genie.nn.pixels import to_model
from genie.precision import cast_autocast_weights, fast_bf16


@torch.no_grad()
def encode_frames(tokenizer: TokenizerNet, frames_THWC: torch.Tensor, batch: int = 256) -> torch.Tensor:
    """uint8 [T, H, W, 3] -> tokens int64 [T, h, w], in batches of ``batch`` frames."""
    device = next(tokenizer.parameters()).device
    chunks = [tokenizer.encode(to_model(frames_THWC[i : i + batch].to(device))) for i in range(0, len(frames_THWC), batch)]
    return torch.cat(chunks)


def history_windows(frames_TCHW: torch.Tensor, window: int, ahead: int = 0) -> torch.Tensor:
    """[T, C, H, W] -> [T-1, window+1+ahead, C, H, W]: for each t, frames t-window+1..t+1+ahead (the start padded
    with frame 0, the end with the last frame)."""
    shape = frames_TCHW.shape[1:]
    padded = torch.cat([frames_TCHW[:1].expand(window - 1, *shape), frames_TCHW,
                        frames_TCHW[-1:].expand(ahead, *shape)])
    index = torch.arange(len(frames_TCHW) - 1)[:, None] + torch.arange(window + 1 + ahead)[None]
    return padded[index]


@torch.no_grad()
def infer_latent_actions(lam: LatentActionNet, frames_THWC: torch.Tensor, batch: int = 128) -> torch.Tensor:
    """uint8 [T, H, W, 3] -> latent actions int64 [T-1]; entry t labels the transition frame t -> frame t+1."""
    device = next(lam.parameters()).device
    x_TCHW = to_model(frames_THWC)
    codes = []
    ahead = lam.cfg.lookahead
    for i in range(0, len(x_TCHW) - 1, batch):
        stop = min(i + batch + 1 + ahead, len(x_TCHW))
        lo = max(0, i - lam.cfg.window + 1)
        count = min(batch, len(x_TCHW) - 1 - i)  # transitions i .. i + count - 1
        windows = history_windows(x_TCHW[lo:stop], lam.cfg.window, ahead)[i - lo : i - lo + count]
        codes.append(lam.infer(windows.to(device)))
    return torch.cat(codes)


class WorldModel:
    """The dynamics model's convolutions run channels-last (1.36x the steps/s of the default layout in fp32 on a
    2-core AVX2 CPU, the same argmax). ``bf16``: it steps under bf16 autocast too, 2-4x faster where bf16 is native,
    its convolution and linear weights stored in bf16 so no step copies them (1.2x, the same tokens); the tokenizer
    and the LAM always run in float32, so pixels and metrics are float32. The world owns the nets it is given."""

    def __init__(self, tokenizer: TokenizerNet, lam: LatentActionNet, dynamics: torch.nn.Module, frame_size: int,
                 bf16: bool = False, effect_names: list[str] | None = None, labelled_fraction: float = 0.0):
        self.tokenizer, self.lam, self.dynamics = tokenizer.eval(), lam.eval(), dynamics.eval()
        self.frame_size = frame_size
        self.window = dynamics.cfg.window
        self.num_actions = dynamics.cfg.num_actions  # the LAM's codes, or the game's effects (action_source game)
        self.action_history = getattr(dynamics.cfg, "action_history", 1)  # recent actions a step reads
        # where the dynamics is conditioned on the game's true actions: the name of each action (its effect)
        self.effect_names = effect_names
        # the share of transitions whose true actions trained the LAM (model.lam.labelled_fraction; 0: label-free)
        self.labelled_fraction = labelled_fraction
        self.bf16 = bf16
        self.dynamics.to(memory_format=torch.channels_last)
        if bf16:
            cast_autocast_weights(self.dynamics, torch.bfloat16)

    @classmethod
    def load(cls, run_dir: str | Path, device: str = "cpu", bf16: bool | None = None) -> "WorldModel":
        """The world of a run directory on ``device``; ``bf16`` None: where it is fast (CUDA, native-bf16 CPUs)."""
        run_dir = Path(run_dir).expanduser()
        paths = read_world(run_dir)
        missing = [s for s in ("tokenizer", "lam", "dynamics") if s not in paths]
        if missing:
            raise UserError(f"{run_dir}: run has no trained {', '.join(missing)} (see {run_dir / 'world.json'})")
        tokenizer, lam, dynamics = (load_module(paths[s], s) for s in ("tokenizer", "lam", "dynamics"))
        frame_size = tokenizer.hparams.frame_size
        check_compatible(tokenizer, lam, dynamics, frame_size, paths)
        bf16 = fast_bf16(device) if bf16 is None else bf16
        effect_names = dynamics.hparams.effect_names if dynamics.hparams.action_source == "game" else None
        return cls(tokenizer.net.to(device), lam.net.to(device), dynamics.net.to(device), frame_size, bf16,
                   effect_names, lam.hparams.get("labelled_fraction", 0.0))

    @property
    def device(self) -> torch.device:
        return next(self.tokenizer.parameters()).device

    # ------------------------------------------------------------------ pieces
    def encode(self, frames_BTHWC: torch.Tensor) -> torch.Tensor:
        """uint8 [B, T, H, W, 3] -> tokens int64 [B, T, h, w]."""
        B = frames_BTHWC.shape[0]
        return encode_frames(self.tokenizer, frames_BTHWC.flatten(0, 1)).unflatten(0, (B, -1))

    @torch.no_grad()
    def decode(self, tokens_BThw: torch.Tensor) -> torch.Tensor:
        """tokens [B, T, h, w] -> frames float [B, T, 3, H, W] in [0, 1]."""
        B = tokens_BThw.shape[0]
        return self.tokenizer.decode(tokens_BThw.flatten(0, 1).to(self.device)).unflatten(0, (B, -1))

    def infer_actions(self, frames_BTHWC: torch.Tensor) -> torch.Tensor:
        """uint8 [B, T, H, W, 3] -> latent actions int64 [B, T-1]."""
        return torch.stack([infer_latent_actions(self.lam, f) for f in frames_BTHWC])

    @torch.no_grad()
    def step(self, history_BThw: torch.Tensor, actions_BA: torch.Tensor, temperature: float = 0.0,
             generator: torch.Generator | None = None) -> torch.Tensor:
        """Next tokens [B, h, w] from the last ``window`` frames of tokens (fewer are padded with the first) and the
        action int [B], or the recent actions int [B, A] (oldest first, the current last; a dynamics model that
        reads only the current action gets the last)."""
        history = pad_history(history_BThw[:, -self.window :], self.window)
        if actions_BA.dim() == 2:
            actions_BA = actions_BA[:, -self.action_history :] if self.action_history > 1 else actions_BA[:, -1]
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            return self.dynamics.predict_next(history.to(self.device), actions_BA.to(self.device), temperature,
                                              generator)

    # ------------------------------------------------------------------ rollouts
    @torch.no_grad()
    def rollout(self, context_BThw: torch.Tensor, actions_BS: torch.Tensor, temperature: float = 0.0,
                seed: int | None = None) -> torch.Tensor:
        """Dream ``S`` frames after the context under the given actions; returns tokens [B, T + S, h, w].
        ``actions_BS[:, s]`` moves the last frame so far (context frame T-1 for s = 0) to the next one."""
        generator = None
        if seed is not None:
            generator = torch.Generator(device=self.device).manual_seed(seed)
        B, T, h, w = context_BThw.shape
        S = actions_BS.shape[1]
        tokens = torch.empty(B, T + S, h, w, dtype=torch.long, device=self.device)
        tokens[:, :T] = context_BThw
        with one_thread_for_batch_one(B, self.device):
            for s in range(S):
                recent_BA = actions_BS[:, max(0, s + 1 - self.action_history) : s + 1]
                tokens[:, T + s] = self.step(tokens[:, : T + s], recent_BA, temperature, generator)
        return tokens


def pad_history(tokens_BThw: torch.Tensor, window: int) -> torch.Tensor:
    """Left-pad a short history by repeating its first frame, as at the start of an episode."""
    missing = window - tokens_BThw.shape[1]
    if missing <= 0:
        return tokens_BThw
    return torch.cat([tokens_BThw[:, :1].expand(-1, missing, -1, -1), tokens_BThw], dim=1)


