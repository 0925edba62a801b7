"""What a stitching verdict must check before it is read (CU §3-4): which latents are alive on
the evaluation tokens, whether a θ fitted on one SAE pair carries to another, whether one swap
group swallows most latents at a θ, and whether two SAEs agree on their decoder bias (Fig. 20).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from saerepro.core.checks import require
from saerepro.evals.stitching import Decoder, swap_groups


def alive_latents(codes: torch.Tensor) -> torch.Tensor:
    """Latents that fire at least once on the evaluation tokens (``codes`` is ``[n, d_sae]``):
    a latent that never fires is neither novel nor a reconstruction latent."""
    require(
        codes.ndim == 2 and len(codes) > 0, "codes", "an [n, d_sae] matrix, n >= 1", codes.shape
    )
    return (codes != 0).any(0)


@dataclass(frozen=True)
class RatesAt:
    """How "max cosine < θ" predicts "inserting the latent lowers MSE" at one fixed θ."""

    threshold: float
    true_positive_rate: float
    false_positive_rate: float
    positives: int
    negatives: int

    @property
    def youden(self) -> float:
        return self.true_positive_rate - self.false_positive_rate


def rates_at(max_cosine: torch.Tensor, lowers_mse: torch.Tensor, threshold: float) -> RatesAt:
    """TPR and FPR of the novelty rule at ``threshold`` (a θ fitted on another pair, or the
    paper's 0.7), so that θ is scored on data it was not chosen on."""
    require(
        max_cosine.shape == lowers_mse.shape, "lowers_mse", "one flag per latent", lowers_mse.shape
    )
    predicted = max_cosine < threshold
    positives, negatives = int(lowers_mse.sum()), int((~lowers_mse).sum())
    tpr = float((predicted & lowers_mse).sum()) / positives if positives else float("nan")
    fpr = float((predicted & ~lowers_mse).sum()) / negatives if negatives else float("nan")
    return RatesAt(threshold, tpr, fpr, positives, negatives)


def largest_group_share(cosines: torch.Tensor, thresholds: Sequence[float]) -> dict[float, float]:
    """For each θ: the share of all latents (both SAEs) in the largest swap group. Near 1, the
    "groups" are one tangle and a swap's effect says nothing about family structure."""
    total = cosines.shape[0] + cosines.shape[1]
    shares = {}
    for theta in thresholds:
        groups = swap_groups(cosines, theta)
        largest = max((len(g.small) + len(g.large) for g in groups), default=0)
        shares[float(theta)] = largest / total
    return shares


def bias_agreement(a: Decoder, b: Decoder) -> float:
    """Cosine between two SAEs' decoder biases (CU Fig. 20: SAEs trained on the same data
    agree on b_dec; stitching assumes they do)."""
    return float(torch.nn.functional.cosine_similarity(a.bias, b.bias, dim=0))
