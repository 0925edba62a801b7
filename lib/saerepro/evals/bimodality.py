"""Alignment scores, and whether their distribution is bimodal ("Bimodality" Eq. 1, §4).

The alignment score of a latent is the inner product of its encoder and decoder vectors. Two
statements about the scores a_i of one SAE:

- *bimodal*, by Sarle's bimodality coefficient BC = (g^2 + 1) / (k + 3 (n-1)^2 / ((n-2)(n-3)))
  with g the sample skewness and k the sample excess kurtosis: BC above 5/9 (the value of a
  uniform distribution) indicates bimodality;
- *where the modes are*, by a two-component Gaussian mixture fitted by EM: the "good" mode is
  the component with the larger mean, the latents in the other are the low-alignment cluster.

And one comparison of two families of SAEs across sparsity: the gain of one at the L0 of each
of its points over the other's curve, interpolated in log L0 (a Pareto comparison).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from saerepro.core.checks import require


def alignment_scores(W_enc: torch.Tensor, W_dec: torch.Tensor) -> torch.Tensor:
    """a_i = W_enc,i . W_dec,i (Eq. 1): encoder column i of SAELens's [d_in, d_sae] with decoder
    row i of its [d_sae, d_in]. Invariant to folding decoder norms into the encoder."""
    require(
        W_enc.shape == W_dec.T.shape,
        "W_enc",
        f"shape [d_in, d_sae] = {tuple(W_dec.T.shape)} (the decoder transposed)",
        tuple(W_enc.shape),
    )
    return (W_enc.T * W_dec).sum(-1)


UNIFORM_BC = 5 / 9
"""The bimodality coefficient of a uniform distribution; above it, bimodal."""


def _values(scores: torch.Tensor | Sequence[float], minimum: int) -> np.ndarray:
    values = np.asarray(torch.as_tensor(scores, dtype=torch.float64).flatten())
    require(len(values) >= minimum, "scores", f"at least {minimum} values", len(values))
    require(bool(np.isfinite(values).all()), "scores", "finite values", "non-finite entries")
    return values


def bimodality_coefficient(scores: torch.Tensor | Sequence[float]) -> float:
    """Sarle's bimodality coefficient with the sample-size corrected skewness and kurtosis."""
    from scipy.stats import kurtosis, skew

    values = _values(scores, 4)
    n = len(values)
    if np.ptp(values) == 0:
        return math.nan
    g = skew(values, bias=False)
    k = kurtosis(values, fisher=True, bias=False)
    return float((g**2 + 1) / (k + 3 * (n - 1) ** 2 / ((n - 2) * (n - 3))))


@dataclass(frozen=True)
class TwoModes:
    """A two-component Gaussian mixture of the scores; component 1 has the larger mean."""

    means: tuple[float, float]
    stds: tuple[float, float]
    weights: tuple[float, float]
    in_low: torch.Tensor  # [n] bool: the score belongs to the low component (posterior > 1/2)

    @property
    def good_mode(self) -> float:
        return self.means[1]

    @property
    def separation(self) -> float:
        """Ashman's D = sqrt(2) |mu_1 - mu_0| / sqrt(s_0^2 + s_1^2); above 2, clean separation."""
        return math.sqrt(2) * abs(self.means[1] - self.means[0]) / math.hypot(*self.stds)


def two_modes(
    scores: torch.Tensor | Sequence[float], iterations: int = 500, tol: float = 1e-10
) -> TwoModes:
    """Fit two Gaussians by EM, started from the lower and upper quartiles (deterministic)."""
    values = _values(scores, 4)
    floor = max(1e-6, 1e-3 * float(values.std()))
    means = np.quantile(values, [0.25, 0.75])
    stds = np.full(2, max(float(values.std()) / 2, floor))
    weights = np.full(2, 0.5)
    previous = -math.inf
    for _ in range(iterations):
        log_density = (
            -0.5 * ((values[:, None] - means) / stds) ** 2 - np.log(stds) + np.log(weights)
        )
        top = log_density.max(1, keepdims=True)
        log_likelihood = float((top[:, 0] + np.log(np.exp(log_density - top).sum(1))).sum())
        posterior = np.exp(log_density - top)
        posterior /= posterior.sum(1, keepdims=True)
        mass = posterior.sum(0).clip(min=1e-12)
        weights = mass / len(values)
        means = (posterior * values[:, None]).sum(0) / mass
        stds = np.sqrt((posterior * (values[:, None] - means) ** 2).sum(0) / mass).clip(min=floor)
        if log_likelihood - previous < tol * abs(log_likelihood):
            break
        previous = log_likelihood
    order = np.argsort(means)
    in_low = torch.from_numpy(posterior[:, order[0]] > 0.5)
    return TwoModes(
        tuple(float(m) for m in means[order]),  # type: ignore[arg-type]
        tuple(float(s) for s in stds[order]),  # type: ignore[arg-type]
        tuple(float(w) for w in weights[order]),  # type: ignore[arg-type]
        in_low,
    )


def gain_at_equal_l0(
    reference_l0: Sequence[float],
    reference_metric: Sequence[float],
    l0: Sequence[float],
    metric: Sequence[float],
) -> list[float]:
    """``metric`` minus the reference curve at the same L0 (linear in log L0), for every point.

    NaN where a point's L0 lies outside the reference's range: no extrapolation.
    """
    require(len(reference_l0) >= 2, "reference_l0", "at least two points", len(reference_l0))
    require(len(l0) == len(metric), "metric", f"one value per L0 ({len(l0)})", len(metric))
    require(
        len(reference_l0) == len(reference_metric),
        "reference_metric",
        f"one value per reference L0 ({len(reference_l0)})",
        len(reference_metric),
    )
    require(min(*reference_l0, *l0) > 0, "l0", "positive L0s", min(*reference_l0, *l0))
    order = np.argsort(reference_l0)
    x = np.log(np.asarray(reference_l0, dtype=float)[order])
    y = np.asarray(reference_metric, dtype=float)[order]
    gains = []
    for point_l0, value in zip(l0, metric, strict=True):
        at = math.log(point_l0)
        inside = x[0] <= at <= x[-1]
        gains.append(float(value - np.interp(at, x, y)) if inside else math.nan)
    return gains
