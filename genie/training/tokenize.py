"""Pre-tokenisation: encode every episode once (tokens + LAM latent actions), so dynamics training reads tokens.
A header with ``moved_copy_radius`` also stores, per transition, the camera's move and the moved copy."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from genie.data.store import EpisodeStore
from genie.data.token_store import TokenStore
from genie.nn.camera import camera_shift
from genie.nn.pixels import to_model
from genie.nn.tokenizer_net import TokenizerNet
from genie.nn.latent_action_net import LatentActionNet
from genie.world import encode_frames, infer_latent_actions, moved_copy

log = logging.getLogger(__name__)


def build_token_store(
    store: EpisodeStore, tokenizer: TokenizerNet, lam: LatentActionNet, out: Path, header: dict, device: str = "cpu"
) -> TokenStore:
    """Encode ``store`` into ``out`` on ``device`` (frames in batches); a complete token store with the same
    ``header`` is reused, a partial one continued."""
    tokens_store = TokenStore.create(out, header)
    if tokens_store.complete:
        log.info("reusing token store %s", out)
        return tokens_store
    done = tokens_store.names()
    todo = [e for e in store.episodes() if e.name not in done]
    # channels-last convolutions: the same codes, 1.6x the frames/s on a 2-core CPU (benchmarks/tokenize_speed.py)
    tokenizer, lam = (net.to(device, memory_format=torch.channels_last) for net in (tokenizer, lam))
    with torch.inference_mode():
        # a bar on a terminal only (disable=None); a log file gets the one line below
        for info in tqdm(todo, desc="[tokenize]", unit="episode", dynamic_ncols=True, disable=None):
            frames = torch.from_numpy(np.array(store.frames(info.name)))
            tokens = encode_frames(tokenizer, frames).cpu().numpy()
            latent = infer_latent_actions(lam, frames).cpu().numpy()
            moves = moved = None
            if tokens_store.has_moved_copy:
                moves, moved = moved_copies(tokenizer, frames, torch.from_numpy(tokens),
                                            tokens_store.header["moved_copy_radius"])
            tokens_store.add_episode(info.name, info.split, tokens, latent, store.actions(info.name), moves, moved)
    tokens_store.mark_complete()
    log.info("tokenised %d episodes into %s", len(todo), out)
    return tokens_store


@torch.no_grad()
def moved_copies(tokenizer: TokenizerNet, frames_THWC: torch.Tensor, tokens_Thw: torch.Tensor, radius: int,
                 batch: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Each transition's camera move, measured on the real frames (``camera_shift``, up to ``radius`` pixels), and
    the moved copy: frame t's tokens decoded, moved by that move and encoded again, as a dream makes it from its
    own tokens (genie.world.moved_copy). -> int [T-1, 2], int [T-1, h, w]."""
    device = next(tokenizer.parameters()).device
    moves, moved = [], []
    for i in range(0, len(frames_THWC) - 1, batch):
        j = min(i + batch, len(frames_THWC) - 1)
        x_TCHW = to_model(frames_THWC[i : j + 1].to(device))
        move_T2 = camera_shift(x_TCHW[:-1], x_TCHW[1:], radius).long()
        moved.append(moved_copy(tokenizer, tokens_Thw[i:j], move_T2).cpu())
        moves.append(move_T2.cpu())
    if not moves:
        return np.zeros((0, 2), np.int64), np.zeros((0, *tokens_Thw.shape[1:]), np.int64)
    return torch.cat(moves).numpy(), torch.cat(moved).numpy()
