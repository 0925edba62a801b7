"""BatchTopK at inference: the threshold θ of "Canonical Units" Eq. 8, per-sample inference with it
against batch-level selection, and how many latents each sample activates (Fig. 9).

A BatchTopK SAE selects the n*k largest pre-activations of a batch of n samples, so a sample's
code depends on its batch. For inference the paper replaces this with a JumpReLU at one threshold
θ, the average over batches of the smallest selected activation (Eq. 8). SAELens learns the same
quantity during training as a running average and saves the SAE as a JumpReLU with it; here it is
recomputed on held-out batches and both inference modes are compared.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from sae_lens.saes.sae import SAE

from saerepro.core.checks import require
from saerepro.saes.sparse_codes import batch_top


@torch.no_grad()
def pre_activations(sae: SAE, x: torch.Tensor) -> torch.Tensor:
    """ReLU of the encoder's pre-activations, the scores BatchTopK selects from (folded weights)."""
    return torch.relu(sae.process_sae_in(x) @ sae.W_enc + sae.b_enc)


@torch.no_grad()
def batch_level_codes(sae: SAE, x: torch.Tensor, k: int) -> torch.Tensor:
    """Dense codes of ``x`` selected BatchTopK-style over ``x`` as one batch (n*k values kept)."""
    scores = pre_activations(sae, x)
    codes = torch.zeros_like(scores)
    kept = batch_top(scores, len(x) * k)
    rows, cols = kept.rows, kept.cols
    codes[rows, cols] = scores[rows, cols]
    return codes


@dataclass(frozen=True)
class InferenceComparison:
    """Per-sample JumpReLU(θ) inference against batch-level BatchTopK selection, on one dataset."""

    theta_saved: float  # the threshold SAELens learned during training (a running average)
    theta_eq8: float  # Eq. 8 on held-out batches: mean of each batch's smallest selected value
    l0_per_sample: float
    l0_batch: float
    nmse_per_sample: float
    nmse_batch: float
    overlap: float  # |active in both| / |active in either|, pooled over all samples


@torch.no_grad()
def compare_inference(sae: SAE, x: torch.Tensor, k: int, batch_size: int) -> InferenceComparison:
    """Both inference modes on ``x`` cut into batches of ``batch_size`` (the training batch)."""
    require(len(x) >= batch_size >= 1, "batch_size", f"in 1..{len(x)} (rows of x)", batch_size)
    require(hasattr(sae, "threshold"), "sae", "a saved BatchTopK SAE (JumpReLU form)", type(sae))
    x = x[: len(x) // batch_size * batch_size]  # whole batches only
    device = sae.W_dec.device
    mean = x.double().mean(0).to(device)
    minima, totals = [], torch.zeros(6, dtype=torch.float64)  # l0 x2, residual x2, both, either
    variance = 0.0
    n_rows = 0
    for chunk in torch.split(x, batch_size):
        chunk = chunk.to(device)  # held-out rows may live on the CPU, the SAE on a GPU
        batch_codes = batch_level_codes(sae, chunk, k)
        sample_codes = sae.encode(chunk)
        minima.append(float(batch_codes[batch_codes > 0].min()))
        batch_on, sample_on = batch_codes > 0, sample_codes > 0
        parts = (
            sample_on.sum(),
            batch_on.sum(),
            (chunk - sae.decode(sample_codes)).double().pow(2).sum(),
            (chunk - sae.decode(batch_codes)).double().pow(2).sum(),
            (batch_on & sample_on).sum(),
            (batch_on | sample_on).sum(),
        )
        totals += torch.tensor([float(v) for v in parts], dtype=torch.float64)
        variance += float((chunk.double() - mean).pow(2).sum())
        n_rows += len(chunk)
    return InferenceComparison(
        theta_saved=float(sae.threshold.mean()),
        theta_eq8=sum(minima) / len(minima),
        l0_per_sample=float(totals[0]) / n_rows,
        l0_batch=float(totals[1]) / n_rows,
        nmse_per_sample=float(totals[2]) / variance,
        nmse_batch=float(totals[3]) / variance,
        overlap=float(totals[4] / totals[5]),
    )


@torch.no_grad()
def active_latents_per_sample(sae: SAE, x: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
    """How many latents the (per-sample) inference SAE activates on each row of ``x``."""
    return torch.cat([(sae.encode(chunk) != 0).sum(-1) for chunk in torch.split(x, batch_size)])
