"""Evaluating a trained SAE on held-out activations, streamed in chunks (never the full
``[n, d_sae]`` code matrix): reconstruction, sparsity, dead latents and s_n^dec."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from sae_lens.saes.sae import SAE

from saerepro.core.checks import require
from saerepro.metrics import nth_decoder_projections


@dataclass(frozen=True)
class HeldoutMetrics:
    """One SAE on held-out activations (its per-sample inference encoder)."""

    l0: float
    nmse: float
    explained_variance: float
    mse: float
    dead_latents: int
    d_sae: int
    n_tokens: int

    @property
    def dead_fraction(self) -> float:
        return self.dead_latents / self.d_sae


@torch.no_grad()
def heldout_metrics(sae: SAE, x: torch.Tensor, batch_size: int = 4096) -> HeldoutMetrics:
    """L0, NMSE (= 1 - explained variance), MSE and latents that never fire on ``x``."""
    require(len(x) >= 2, "x", "at least 2 held-out rows", len(x))
    require(batch_size >= 1, "batch_size", "at least 1", batch_size)
    sae.eval()
    device = sae.W_dec.device
    mean = x.double().mean(0).to(device)
    residual = total = 0.0
    active = 0
    fired = torch.zeros(sae.cfg.d_sae, dtype=torch.bool, device=device)
    for chunk in torch.split(x, batch_size):
        chunk = chunk.to(device)  # held-out rows may live on the CPU, the SAE on a GPU
        codes = sae.encode(chunk)
        nonzero = codes != 0
        residual += float((chunk - sae.decode(codes)).double().pow(2).sum())
        total += float((chunk.double() - mean).pow(2).sum())
        active += int(nonzero.sum())
        fired |= nonzero.any(0)
    d_sae = sae.cfg.d_sae
    return HeldoutMetrics(
        l0=active / len(x),
        nmse=residual / total,
        explained_variance=1 - residual / total,
        mse=residual / len(x),
        dead_latents=int((~fired).sum()),
        d_sae=d_sae,
        n_tokens=len(x),
    )


@torch.no_grad()
def decoder_projections(sae: SAE, x: torch.Tensor, ns: Sequence[int]) -> dict[int, float]:
    """s_n^dec ("Sparse but Wrong" Eq. 3-4) of the SAE's unit-norm decoder on the batch ``x``."""
    values = nth_decoder_projections(x, sae.W_dec.detach(), sae.b_dec.detach(), ns)
    return dict(zip(ns, values, strict=True))


@torch.no_grad()
def firing_frequencies(sae: SAE, x: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
    """The fraction of the rows of ``x`` on which each latent fires ([d_sae]; 0 = dead)."""
    require(len(x) >= 1, "x", "at least 1 held-out row", len(x))
    require(batch_size >= 1, "batch_size", "at least 1", batch_size)
    sae.eval()
    device = sae.W_dec.device
    counts = torch.zeros(sae.cfg.d_sae, dtype=torch.float64, device=device)
    for chunk in torch.split(x, batch_size):
        counts += (sae.encode(chunk.to(device)) != 0).sum(0).double()
    return (counts / len(x)).cpu()
