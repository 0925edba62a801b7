"""Running an SAE over many inputs, in chunks, without gradients."""

from __future__ import annotations

import torch
from sae_lens.saes.sae import SAE, TrainingSAE


@torch.no_grad()
def encode_decode(
    sae: SAE | TrainingSAE, x: torch.Tensor, batch_size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Feature activations and reconstructions of ``x``, ``batch_size`` rows at a time.

    A training BatchTopK SAE selects per chunk (batch-level top-k), so ``batch_size`` should be the
    training batch size; a saved inference SAE encodes each row on its own.
    """
    sae.eval()
    acts, recons = [], []
    for chunk in torch.split(x, batch_size):
        feature_acts = sae.encode(chunk)
        acts.append(feature_acts)
        recons.append(sae.decode(feature_acts))
    return torch.cat(acts), torch.cat(recons)
