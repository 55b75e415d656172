"""MaskGIT dynamics: an ST-transformer that fills in masked tokens of frame t+1 from frames <= t and the action a_t.

Input. Each frame is M = h * w tokens. A visible token is its code's embedding, a masked one a learned [MASK] vector;
learned row, column and frame-index embeddings are added to all.
With ``patch`` p > 1 the embeddings of each p x p patch of tokens (width E = C / p^2 each) sit side by side in one
transformer position and the head predicts the p^2 tokens of a position: p = 2 makes a 16x16 grid 64 positions per
frame, ~4x less compute than Genie's one position per token (p = 1), which is what makes this model trainable on a CPU.

Actions. A frame being predicted (one with masked tokens) is conditioned on the latent action that *produced* it
(a_{t-1} for frame t, DESIGN §3): before every ST block, a per-layer embedding of that action is added to all of the
frame's positions (the CNN forecaster conditions every block too, by FiLM). Fully visible frames carry no action, so
the history handed to ``predict_next`` needs no actions of its own: only a_t, for the frame it predicts.

Training (``compute_loss``). Clips of window + 1 frames. Each sample draws its own mask rate r ~ U[0.5, 1] and masks
ceil(r * M) random tokens of each predicted frame: only the last (``targets="last"``, the default: the history is
always visible, as at inference) or frames 1..window (``targets="all"``, as in Genie: window targets per clip, but
each history frame is then itself >= 50 % masked, which hides the motion cues; it learned far slower on CoinRun, see
configs/model/dynamics/maskgit.yaml). Loss: cross-entropy on the masked tokens. Causal time attention keeps frame t
blind to frames > t, so every target is predicted from frames <= t and actions <= a_{t-1}.

Readout. logits of frame t = head(features) + ``copy_bias`` * onehot(tokens of frame t-1): most tokens of a game frame
stay put, so the network learns what changes (the CNN forecaster's copy prior).

Decoding (``predict_next``). The history is encoded once (keys/values of the causal time attention are cached per
layer); the new frame starts fully masked and takes ``decode_steps`` passes. Pass s fills every masked token with a
guess, then re-masks the least confident ones so that M * gamma((s + 1) / steps) stay masked, gamma = cos(pi/2 x)
(``schedule="cosine"``, MaskGIT) or 1 - x (``"linear"``). Confidence = log-probability of the guess; at temperature
> 0 guesses are sampled from softmax(logits / temperature) and Gumbel noise scaled by temperature * (1 - (s+1)/steps)
is added to the confidence (MaskGIT's annealed choice noise). At temperature 0 decoding is deterministic.

Legend: B batch  T frames  h w token grid  M = h * w tokens per frame  p patch side  N = M / p^2 transformer
positions per frame  E = C / p^2 token embedding width  C model width  K codebook size (num_codes)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from genie.nn.st_transformer import KeysValues, STBlock

SCHEDULES = ("cosine", "linear")
TARGETS = ("all", "last")


@dataclass
class MaskGITConfig:
    num_codes: int = 512
    num_actions: int = 16
    window: int = 4  # history frames; clips are window + 1 frames
    d_model: int = 128
    layers: int = 4
    heads: int = 4
    mlp_ratio: int = 4
    max_grid: int = 16  # largest token grid side the position embeddings cover
    patch: int = 2  # p x p tokens share one transformer position (N = h * w / p^2): 2 is 4x cheaper, 1 as in Genie
    targets: str = "last"  # last | all: which frames of a training clip are masked and predicted
    decode_steps: int = 6
    schedule: str = "cosine"  # cosine | linear: fraction of tokens still masked after each decoding pass


def group_patches(x_BThwE: torch.Tensor, p: int) -> torch.Tensor:
    """[B, T, h, w, E] -> [B, T, N, p * p * E]: the features of each p x p patch of tokens side by side."""
    B, T, h, w, E = x_BThwE.shape
    x = x_BThwE.view(B, T, h // p, p, w // p, p, E).permute(0, 1, 2, 4, 3, 5, 6)
    return x.reshape(B, T, (h // p) * (w // p), p * p * E)


def ungroup_patches(x_BTNC: torch.Tensor, h: int, w: int, p: int) -> torch.Tensor:
    """[B, T, N, p * p * E] -> [B, T, h, w, E], the inverse of ``group_patches``."""
    B, T = x_BTNC.shape[:2]
    x = x_BTNC.view(B, T, h // p, w // p, p, p, -1).permute(0, 1, 2, 4, 3, 5, 6)
    return x.reshape(B, T, h, w, -1)


def masked_fraction(progress: float, schedule: str) -> float:
    """Fraction of the frame still masked after a pass, for progress in (0, 1]: 1 -> 0."""
    return math.cos(math.pi / 2 * progress) if schedule == "cosine" else 1.0 - progress


class MaskGITDynamics(nn.Module):
    def __init__(self, cfg: MaskGITConfig):
        super().__init__()
        if cfg.schedule not in SCHEDULES:
            raise ValueError(f"maskgit schedule={cfg.schedule!r}: expected one of {SCHEDULES}")
        if cfg.targets not in TARGETS:
            raise ValueError(f"maskgit targets={cfg.targets!r}: expected one of {TARGETS}")
        self.cfg = cfg
        C, E = cfg.d_model, cfg.d_model // cfg.patch**2
        if E * cfg.patch**2 != C:
            raise ValueError(f"maskgit d_model={C} is not divisible by patch**2={cfg.patch**2}")
        self.token_embedding = nn.Embedding(cfg.num_codes, E)
        self.mask_token = nn.Parameter(torch.randn(E) * 0.02)
        self.row_embedding = nn.Embedding(cfg.max_grid, E)
        self.column_embedding = nn.Embedding(cfg.max_grid, E)
        self.frame_embedding = nn.Embedding(cfg.window + 1, C)
        self.blocks = nn.ModuleList([STBlock(C, cfg.heads, cfg.mlp_ratio) for _ in range(cfg.layers)])
        self.action_embeddings = nn.ModuleList([nn.Embedding(cfg.num_actions, C) for _ in range(cfg.layers)])
        self.norm = nn.LayerNorm(C)
        self.head = nn.Linear(C, cfg.patch**2 * cfg.num_codes)
        self.copy_bias = nn.Parameter(torch.tensor(3.0))
        for embedding in (self.token_embedding, self.row_embedding, self.column_embedding, self.frame_embedding,
                          *self.action_embeddings):
            nn.init.normal_(embedding.weight, std=0.02)

    # ------------------------------------------------------------------ pieces
    def embed(self, tokens_BThw: torch.Tensor, masked_BThw: torch.Tensor, first_frame: int = 0) -> torch.Tensor:
        """-> x [B, T, N, C]. tokens int in [0, K) (ignored where masked); masked bool; ``first_frame``: frame
        index of tokens[:, 0] within the window + 1 frames of a clip."""
        B, T, h, w = tokens_BThw.shape
        p = self.cfg.patch
        if h % p or w % p or max(h, w) > self.cfg.max_grid:
            raise ValueError(f"token grid {h}x{w}: maskgit needs sides divisible by patch={p} and at most "
                             f"max_grid={self.cfg.max_grid}")
        x_BThwE = torch.where(masked_BThw[..., None], self.mask_token, self.token_embedding(tokens_BThw))
        x_BThwE = x_BThwE + self.row_embedding.weight[:h, None] + self.column_embedding.weight[None, :w]
        frames_TC = self.frame_embedding(torch.arange(first_frame, first_frame + T, device=tokens_BThw.device))
        return group_patches(x_BThwE, p) + frames_TC[:, None]

    def readout(self, x_BTNC: torch.Tensor, previous_BThw: torch.Tensor) -> torch.Tensor:
        """Features of frames [B, T, N, C] and the tokens of the frame before each -> logits [B, T, h, w, K]."""
        h, w = previous_BThw.shape[-2:]
        logits_BThwK = ungroup_patches(self.head(self.norm(x_BTNC)), h, w, self.cfg.patch)
        copy_BThwK = F.one_hot(previous_BThw, self.cfg.num_codes).to(logits_BThwK.dtype)
        return logits_BThwK + self.copy_bias * copy_BThwK

    def forward(self, tokens_BThw: torch.Tensor, masked_BThw: torch.Tensor, actions_BT: torch.Tensor) -> torch.Tensor:
        """Teacher-forced pass over a clip: tokens int [B, T, h, w], masked bool [B, T, h, w] (frame 0 must be
        visible), actions int [B, T-1] (``actions[:, t]`` moves frame t to t+1) -> logits [B, T-1, h, w, K] of
        frames 1..T-1; frame t's logits depend on frames <= t (visible tokens) and actions < t only."""
        producing_BT = torch.cat([actions_BT[:, :1], actions_BT], dim=1)  # frame 0's entry is never used
        predicted_BT11 = masked_BThw.flatten(2).any(-1)[:, :, None, None]
        x_BTNC = self.embed(tokens_BThw, masked_BThw)
        for block, action_embedding in zip(self.blocks, self.action_embeddings):
            x_BTNC, _ = block(x_BTNC + predicted_BT11 * action_embedding(producing_BT)[:, :, None])
        return self.readout(x_BTNC[:, 1:], tokens_BThw[:, :-1])

    # ------------------------------------------------------------------ training
    def sample_mask(self, tokens_BThw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """-> (masked bool [B, T, h, w], rate float [B] in [0.5, 1]): each sample masks ceil(rate * M) random
        tokens of each predicted frame (see ``targets``); frame 0 is never masked."""
        B, T, h, w = tokens_BThw.shape
        M = h * w
        device = tokens_BThw.device
        rate_B = torch.rand(B, device=device) * 0.5 + 0.5
        count_B = torch.ceil(rate_B * M).long()
        rank_BTM = torch.rand(B, T, M, device=device).argsort(-1).argsort(-1)
        masked_BTM = rank_BTM < count_B[:, None, None]
        predicted_T = torch.arange(T, device=device) >= (1 if self.cfg.targets == "all" else T - 1)
        return (masked_BTM & predicted_T[None, :, None]).view(B, T, h, w), rate_B

    def compute_loss(self, tokens_BThw: torch.Tensor, actions_BT: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """Masked-token loss on a clip: tokens int [B, window + 1, h, w], actions int [B, window]."""
        masked_BThw, rate_B = self.sample_mask(tokens_BThw)
        logits_BThwK = self(tokens_BThw, masked_BThw, actions_BT)
        target_mask = masked_BThw[:, 1:]
        logits_QK, target_Q = logits_BThwK[target_mask].float(), tokens_BThw[:, 1:][target_mask]  # Q masked tokens
        loss = F.cross_entropy(logits_QK, target_Q)
        accuracy = (logits_QK.argmax(-1) == target_Q).float().mean()
        return loss, {"token_accuracy": accuracy, "mask_rate": rate_B.mean()}

    # ------------------------------------------------------------------ decoding
    @torch.inference_mode()
    def predict_next(
        self, history_BThw: torch.Tensor, actions_B: torch.Tensor, temperature: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Tokens int64 [B, h, w] of the frame after history[:, -1] (history int [B, window, h, w]) under action
        int [B] in [0, num_actions), by ``decode_steps`` MaskGIT passes (see the module docstring)."""
        B, W, h, w = history_BThw.shape
        if W != self.cfg.window:
            raise ValueError(f"maskgit dynamics expects {self.cfg.window} history frames, got {W}")
        M, steps = h * w, self.cfg.decode_steps
        x_BTNC = self.embed(history_BThw, torch.zeros_like(history_BThw, dtype=torch.bool))
        cache: list[KeysValues] = []
        for block in self.blocks:
            x_BTNC, keys_values = block(x_BTNC)
            cache.append(keys_values)

        tokens_BM = torch.zeros(B, M, dtype=torch.long, device=history_BThw.device)
        masked_BM = torch.ones(B, M, dtype=torch.bool, device=history_BThw.device)
        for step in range(steps):
            x_B1NC = self.embed(tokens_BM.view(B, 1, h, w), masked_BM.view(B, 1, h, w), W)
            for block, action_embedding, past in zip(self.blocks, self.action_embeddings, cache):
                x_B1NC, _ = block(x_B1NC + action_embedding(actions_B)[:, None, None], past)
            logits_BMK = self.readout(x_B1NC, history_BThw[:, -1:]).view(B, M, -1).float()
            guess_BM, confidence_BM = self.guess(logits_BMK, temperature, generator)
            progress = (step + 1) / steps
            if temperature > 0:
                confidence_BM = confidence_BM + temperature * (1 - progress) * gumbel_like(confidence_BM, generator)
            tokens_BM = torch.where(masked_BM, guess_BM, tokens_BM)
            confidence_BM = confidence_BM.masked_fill(~masked_BM, math.inf)  # decided tokens stay decided
            still_masked = math.floor(M * masked_fraction(progress, self.cfg.schedule))
            least_confident_BM = confidence_BM.argsort(dim=1)[:, :still_masked]
            masked_BM = torch.zeros_like(masked_BM).scatter_(1, least_confident_BM, True)
        return tokens_BM.view(B, h, w)

    @staticmethod
    def guess(logits_BMK: torch.Tensor, temperature: float,
              generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
        """-> (token int [B, M]: argmax at temperature 0, else a sample of softmax(logits / temperature);
        confidence float [B, M]: its log-probability under softmax(logits))."""
        log_probs_BMK = F.log_softmax(logits_BMK, dim=-1)
        if temperature <= 0:
            confidence_BM, token_BM = log_probs_BMK.max(dim=-1)
            return token_BM, confidence_BM
        B, M, K = logits_BMK.shape
        probs_BMK = F.softmax(logits_BMK / temperature, dim=-1)
        token_BM = torch.multinomial(probs_BMK.view(B * M, K), 1, generator=generator).view(B, M)
        return token_BM, log_probs_BMK.gather(-1, token_BM[..., None])[..., 0]


def gumbel_like(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Standard Gumbel noise of x's shape: -log(-log(u)), u ~ U(0, 1)."""
    u = torch.rand(x.shape, generator=generator, device=x.device).clamp_(1e-9, 1 - 1e-9)
    return -torch.log(-torch.log(u))
