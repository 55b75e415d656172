"""Vector quantiser with an EMA codebook and dead-code restart (van den Oord et al. 2017; Razavi et al. 2019).

The codebook is not trained by gradients: each code moves towards the running mean of the encoder vectors assigned
to it. A code whose running usage falls below ``restart_threshold`` is re-seeded on a random encoder vector from the
current batch, so every code stays in use. Under DDP the batch statistics are summed over ranks and restarts are
taken from rank 0, so all ranks keep one codebook.

An optional entropy term (``entropy_weight``) acts on soft assignments ``softmax(-distance / temperature)``: it
rewards a high entropy of the *batch-average* assignment (all codes used) and a low per-sample entropy (confident
codes). The LAM uses it against collapse; the tokenizer does not need it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn


@dataclass
class QuantizerOutput:
    quantized: torch.Tensor  # [N, D], straight-through: gradients flow to the encoder vectors
    codes: torch.Tensor  # int64 [N]
    loss: torch.Tensor  # commitment (+ entropy) loss, scalar
    perplexity: torch.Tensor  # exp(entropy of the batch code histogram), in [1, num_codes]
    usage: torch.Tensor  # fraction of codes used in this batch, in [0, 1]


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


class VectorQuantizer(nn.Module):
    def __init__(
        self,
        num_codes: int,
        code_dim: int,
        decay: float = 0.99,
        commitment: float = 0.25,
        restart_threshold: float = 0.01,
        entropy_weight: float = 0.0,
        entropy_temperature: float = 1.0,
    ):
        super().__init__()
        self.num_codes, self.code_dim = num_codes, code_dim
        self.decay, self.commitment = decay, commitment
        self.restart_threshold = restart_threshold
        self.entropy_weight, self.entropy_temperature = entropy_weight, entropy_temperature
        self.register_buffer("codebook", torch.randn(num_codes, code_dim) * 0.1)
        self.register_buffer("ema_count", torch.ones(num_codes))
        self.register_buffer("ema_sum", self.codebook.clone())
        self.register_buffer("initialised", torch.tensor(False))

    def distances(self, z: torch.Tensor, codebook: torch.Tensor | None = None) -> torch.Tensor:
        """z: [N, D] -> squared distances [N, K] to the codebook (or to a snapshot of it)."""
        e = self.codebook if codebook is None else codebook
        return z.pow(2).sum(1, keepdim=True) - 2 * z @ e.t() + e.pow(2).sum(1)[None]

    @torch.no_grad()
    def nearest(self, z: torch.Tensor, rows: int = 4096) -> torch.Tensor:
        """z: [N, D] -> int64 [N], the code ``forward`` assigns each row, without its training statistics (loss,
        histogram, EMA): inference. Rows go in chunks whose distance matrix stays in cache."""
        with torch.autocast(device_type=z.device.type, enabled=False):
            z = z.float()
            return torch.cat([self.distances(chunk).argmin(1) for chunk in z.split(rows)])

    def lookup(self, codes: torch.Tensor) -> torch.Tensor:
        """codes: int [...] -> code vectors [..., D]."""
        return F.embedding(codes, self.codebook)

    def forward(self, z: torch.Tensor) -> QuantizerOutput:
        with torch.autocast(device_type=z.device.type, enabled=False):
            z = z.float()
            if self.training and not bool(self.initialised):
                self._initialise(z)
            # a snapshot: the EMA update below changes the codebook in place, autograd needs the old one
            codebook = self.codebook.clone()
            d = self.distances(z, codebook)
            codes = d.argmin(1)
            one_hot = F.one_hot(codes, self.num_codes).type_as(z)
            counts = one_hot.sum(0)
            if self.training:
                self._ema_update(z, one_hot, counts)
            quantized = F.embedding(codes, codebook)
            loss = self.commitment * F.mse_loss(z, quantized.detach())
            if self.entropy_weight > 0:
                loss = loss + self.entropy_weight * self._entropy_loss(d)
            probs = counts / counts.sum()
            perplexity = torch.exp(-(probs * torch.log(probs + 1e-10)).sum())
            usage = (counts > 0).float().mean()
        quantized = z + (quantized - z).detach()
        return QuantizerOutput(quantized, codes, loss, perplexity, usage)

    def _entropy_loss(self, d: torch.Tensor) -> torch.Tensor:
        p = F.softmax(-d / self.entropy_temperature, dim=1)  # [N, K]
        per_sample = -(p * torch.log(p + 1e-10)).sum(1).mean()
        mean_p = p.mean(0)
        batch = -(mean_p * torch.log(mean_p + 1e-10)).sum()
        return per_sample - batch

    @torch.no_grad()
    def _initialise(self, z: torch.Tensor) -> None:
        """Seed the codebook on encoder outputs (random rows of the first batch)."""
        picks = z[torch.randint(0, len(z), (self.num_codes,), device=z.device)]
        if _distributed():
            dist.broadcast(picks, 0)
        self.codebook.copy_(picks)
        self.ema_sum.copy_(picks)
        self.ema_count.fill_(1.0)
        self.initialised.fill_(True)

    @torch.no_grad()
    def _ema_update(self, z: torch.Tensor, one_hot: torch.Tensor, counts: torch.Tensor) -> None:
        sums = one_hot.t() @ z  # [K, D]
        if _distributed():
            dist.all_reduce(counts)
            dist.all_reduce(sums)
        self.ema_count.mul_(self.decay).add_(counts, alpha=1 - self.decay)
        self.ema_sum.mul_(self.decay).add_(sums, alpha=1 - self.decay)
        n = self.ema_count.sum()
        smoothed = (self.ema_count + 1e-5) / (n + self.num_codes * 1e-5) * n
        self.codebook.copy_(self.ema_sum / smoothed[:, None])
        dead = self.ema_count < self.restart_threshold
        if dead.any():
            picks = z[torch.randint(0, len(z), (self.num_codes,), device=z.device)]
            if _distributed():
                dist.broadcast(picks, 0)
            fresh_count = max(1.0, 2 * self.restart_threshold)
            self.codebook[dead] = picks[dead]
            self.ema_sum[dead] = picks[dead] * fresh_count
            self.ema_count[dead] = fresh_count
