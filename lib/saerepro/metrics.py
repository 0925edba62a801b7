"""SAE metrics on tensors: reconstruction, sparsity, decoder geometry, s_n^dec.

Layouts follow SAELens: ``W_dec`` is [d_sae, d_in], ``W_enc`` is [d_in, d_sae].
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from saerepro.core.checks import require


def unit_rows(matrix: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Each row scaled to unit L2 norm (zero rows stay zero)."""
    return matrix / matrix.norm(dim=-1, keepdim=True).clamp_min(eps)


def mse(x: torch.Tensor, x_hat: torch.Tensor) -> float:
    """Squared error summed over the input dimension, averaged over samples (SAELens's MSE)."""
    return float((x - x_hat).pow(2).sum(-1).mean())


def explained_variance(x: torch.Tensor, x_hat: torch.Tensor) -> float:
    """1 - sum ||x - x_hat||^2 / sum ||x - mean(x)||^2 over the batch."""
    residual = (x - x_hat).pow(2).sum()
    total = (x - x.mean(0)).pow(2).sum()
    return float(1 - residual / total)


def nmse(x: torch.Tensor, x_hat: torch.Tensor) -> float:
    """Normalised MSE: sum ||x - x_hat||^2 / sum ||x - mean(x)||^2 (= 1 - explained variance).

    The error relative to always predicting the mean activation (Gao et al. 2024's convention).
    """
    return 1.0 - explained_variance(x, x_hat)


def ce_degradation(clean_ce: float, spliced_ce: float) -> float:
    """How much the next-token CE rises when the reconstruction replaces the activation."""
    return spliced_ce - clean_ce


def ce_loss_recovered(clean_ce: float, spliced_ce: float, ablated_ce: float) -> float:
    """(H_0 - H*) / (H_0 - H_orig) (BIM appendix B): 1 for a perfect reconstruction, 0 for zeros."""
    if ablated_ce == clean_ce:
        raise ValueError("zero ablation leaves the CE unchanged: loss recovered is undefined")
    return (ablated_ce - spliced_ce) / (ablated_ce - clean_ce)


def mean_l0(feature_acts: torch.Tensor) -> float:
    """Average number of non-zero latents per sample."""
    return float((feature_acts != 0).sum(-1).float().mean())


def dead_latents(feature_acts: torch.Tensor) -> int:
    """Number of latents that never fire on the given samples."""
    return int(((feature_acts != 0).sum(0) == 0).sum())


def decoder_feature_cosines(W_dec: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
    """Cosine similarity of every decoder row with every feature: [d_sae, n_features]."""
    return unit_rows(W_dec) @ unit_rows(features).T


def feature_recovery(cosines: torch.Tensor) -> float:
    """Mean over true features of the best cosine any latent reaches (1 = all recovered)."""
    return float(cosines.max(dim=0).values.mean())


def nth_decoder_projections(
    x: torch.Tensor, W_dec: torch.Tensor, b_dec: torch.Tensor, ns: Sequence[int]
) -> list[float]:
    """s_n^dec ("Sparse but Wrong" Eq. 3-4) for each n in ``ns``, sorting once.

    Z = (x - b_dec) W_dec^T with unit-norm decoder rows, flattened over the batch of b samples and
    sorted in descending order; s_n^dec is the (n*b)-th largest value (1-indexed rank).
    """
    d_sae = W_dec.shape[0]
    for n in ns:
        require(1 <= n <= d_sae, "n", f"an integer in 1..{d_sae} (d_sae)", n)
    b = x.shape[0]
    z = ((x - b_dec) @ unit_rows(W_dec).T).flatten()
    # the (n*b)-th largest of m values is the (m - n*b + 1)-th smallest: a selection, not a sort
    return [float(torch.kthvalue(z, z.numel() - n * b + 1).values) for n in ns]


def nth_decoder_projection(
    x: torch.Tensor, W_dec: torch.Tensor, b_dec: torch.Tensor, n: int
) -> float:
    """s_n^dec for one n; see :func:`nth_decoder_projections`."""
    return nth_decoder_projections(x, W_dec, b_dec, [n])[0]


def matched_latent_order(cosines: torch.Tensor) -> torch.Tensor:
    """Latent indices ordered so that latent i best matches feature i (Hungarian matching).

    Latents beyond the number of features (or unmatched) follow in their original order.
    """
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(-cosines.numpy())
    matched = [int(r) for _, r in sorted(zip(cols, rows, strict=True))]
    rest = [i for i in range(cosines.shape[0]) if i not in set(matched)]
    return torch.tensor(matched + rest, dtype=torch.long)


def _late_means(losses: Sequence[float], fraction: float) -> tuple[float, float]:
    """Mean of the last ``fraction / 2`` of the points and of the ``fraction / 2`` before them."""
    require(0 < fraction <= 1, "fraction", "in (0, 1]", fraction)
    half = max(1, round(len(losses) * fraction / 2))
    require(len(losses) >= 2 * half + 1, "losses", f"at least {2 * half + 1} points", len(losses))
    return sum(losses[-2 * half : -half]) / half, sum(losses[-half:]) / half


def late_loss_change(losses: Sequence[float], fraction: float = 0.2) -> float:
    """How much a loss curve still falls over its last ``fraction``, relative to where it began.

    (mean of the last ``fraction / 2`` of the points - mean of the ``fraction / 2`` before them)
    divided by the first point: near 0 once the curve has flattened, negative while it falls.
    Normalising by the first loss keeps curves that approach 0 from looking unsettled.
    """
    earlier, later = _late_means(losses, fraction)
    return (later - earlier) / abs(losses[0]) if losses[0] else 0.0


def final_loss_drop(losses: Sequence[float], fraction: float = 0.2) -> float:
    """The share of its final loss a curve still lost over its last ``fraction``.

    (mean of the ``fraction / 2`` before the last - mean of the last ``fraction / 2``) divided by
    the latter: near 0 once flat, 0.1 if the loss still fell by a tenth. For losses that stay
    well above 0 (an LLM SAE's MSE), where dividing by the first loss would hide a slow descent.
    """
    earlier, later = _late_means(losses, fraction)
    require(later > 0, "losses", "positive at the end of the curve", later)
    return (earlier - later) / later
