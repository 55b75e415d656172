"""Pre-tokenisation: encode every episode once (tokens + LAM latent actions), so dynamics training reads tokens."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from genie.data.store import EpisodeStore
from genie.data.token_store import TokenStore
from genie.nn.tokenizer_net import TokenizerNet
from genie.nn.latent_action_net import LatentActionNet
from genie.world import encode_frames, infer_latent_actions

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
            tokens_store.add_episode(info.name, info.split, tokens, latent, store.actions(info.name))
    tokens_store.mark_complete()
    log.info("tokenised %d episodes into %s", len(todo), out)
    return tokens_store
