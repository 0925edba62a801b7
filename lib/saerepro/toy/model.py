"""The toy model of "Sparse but Wrong" §3 / A.1: correlated sparse features in superposition.

``n_features`` orthonormal unit features in R^``d_model``. Feature i fires with probability
``p_i = firing_prob_min + firing_prob_span * (n - 1 - i) / n`` (50 features: 0.388 down to 0.05,
true L0 = sum p_i = 10.95). Firings are correlated through a Gaussian copula over a seeded random
correlation matrix, so each marginal firing rate is exactly ``p_i``. A firing feature has magnitude
~ N(magnitude_mean, magnitude_std) clipped at 0. An input is the sum of magnitude * feature.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch
from scipy.stats import multivariate_normal

from saerepro.core.checks import require

MIN_EIGENVALUE = 0.01  # floor applied to the correlation matrix's spectrum (positive definite)


@dataclass(frozen=True)
class ToyModelConfig:
    """Everything that defines a toy model; the same config and seed give the same model."""

    n_features: int = 50
    d_model: int = 100
    firing_prob_min: float = 0.05
    firing_prob_span: float = 0.345
    correlation_scale: float = 0.4
    magnitude_mean: float = 1.0
    magnitude_std: float = 0.15
    seed: int = 0

    def __post_init__(self) -> None:
        require(self.n_features >= 1, "n_features", "an integer >= 1", self.n_features)
        require(
            self.d_model >= self.n_features,
            "d_model",
            f">= n_features={self.n_features}, so that the features can be orthogonal",
            self.d_model,
        )
        require(0 < self.firing_prob_min <= 1, "firing_prob_min", "in (0, 1]", self.firing_prob_min)
        p_max = float(
            firing_probabilities(self.n_features, self.firing_prob_min, self.firing_prob_span)[0]
        )
        require(
            self.firing_prob_span >= 0 and p_max <= 1,
            "firing_prob_span",
            "a value >= 0 that keeps every firing probability in (0, 1]",
            self.firing_prob_span,
        )
        require(
            0 <= self.correlation_scale < 1,
            "correlation_scale",
            "in [0, 1)",
            self.correlation_scale,
        )
        require(self.magnitude_mean > 0, "magnitude_mean", "> 0", self.magnitude_mean)
        require(self.magnitude_std >= 0, "magnitude_std", ">= 0", self.magnitude_std)

    @property
    def true_l0(self) -> float:
        """Expected number of firing features per input: the sum of the firing probabilities."""
        return float(
            firing_probabilities(self.n_features, self.firing_prob_min, self.firing_prob_span).sum()
        )


@dataclass(frozen=True)
class ToySample:
    """A batch from the toy model: the SAE inputs and the feature activations behind them."""

    inputs: torch.Tensor  # [n, d_model]
    feature_acts: torch.Tensor  # [n, n_features], magnitude where a feature fires, else 0


def firing_probabilities(n_features: int, p_min: float, span: float) -> torch.Tensor:
    """p_i = p_min + span * (n - 1 - i) / n, decreasing with the feature index."""
    i = torch.arange(n_features, dtype=torch.float64)
    return p_min + span * (n_features - 1 - i) / n_features


def random_correlation_matrix(n: int, scale: float, generator: torch.Generator) -> torch.Tensor:
    """Symmetric, off-diagonals ~ U(-scale, scale); spectrum floored, rescaled to unit diagonal."""
    upper = (torch.rand(n, n, generator=generator, dtype=torch.float64) * 2 - 1) * scale
    upper = torch.triu(upper, diagonal=1)
    matrix = upper + upper.T + torch.eye(n, dtype=torch.float64)
    eigenvalues, eigenvectors = torch.linalg.eigh(matrix)
    matrix = eigenvectors @ torch.diag(eigenvalues.clamp_min(MIN_EIGENVALUE)) @ eigenvectors.T
    d = matrix.diagonal().sqrt()
    matrix = matrix / d[:, None] / d[None, :]
    return (matrix + matrix.T) / 2


def orthonormal_features(n_features: int, d_model: int, generator: torch.Generator) -> torch.Tensor:
    """``n_features`` mutually orthogonal unit vectors in R^d_model, as rows."""
    gaussian = torch.randn(d_model, n_features, generator=generator, dtype=torch.float64)
    q, r = torch.linalg.qr(gaussian)
    q = q * torch.sign(torch.diagonal(r))  # a unique sign convention
    return q.T.contiguous()


class ToyModel:
    """The seeded toy model; ``sample`` draws inputs, ``batches`` streams them for training."""

    def __init__(self, cfg: ToyModelConfig) -> None:
        self.cfg = cfg
        generator = torch.Generator().manual_seed(cfg.seed)
        self.features = orthonormal_features(cfg.n_features, cfg.d_model, generator).float()
        self.firing_probabilities = firing_probabilities(
            cfg.n_features, cfg.firing_prob_min, cfg.firing_prob_span
        )
        self.correlation = random_correlation_matrix(
            cfg.n_features, cfg.correlation_scale, generator
        )
        self._cholesky_t = torch.linalg.cholesky(self.correlation).T.float()
        self._thresholds = torch.special.ndtri(self.firing_probabilities).float()

    @property
    def true_l0(self) -> float:
        """Expected number of firing features per input: the sum of the firing probabilities."""
        return self.cfg.true_l0

    def sample(self, n: int, generator: torch.Generator) -> ToySample:
        """Draw ``n`` inputs with the feature activations behind them."""
        require(n >= 1, "n", "an integer >= 1", n)
        latent = torch.randn(n, self.cfg.n_features, generator=generator) @ self._cholesky_t
        fires = latent < self._thresholds
        magnitudes = torch.randn(n, self.cfg.n_features, generator=generator)
        magnitudes = (self.cfg.magnitude_mean + self.cfg.magnitude_std * magnitudes).clamp_min(0)
        feature_acts = torch.where(fires, magnitudes, 0.0)
        return ToySample(inputs=feature_acts @ self.features, feature_acts=feature_acts)

    def batches(self, batch_size: int, seed: int) -> Iterator[torch.Tensor]:
        """An endless, seeded stream of input batches for SAE training."""
        generator = torch.Generator().manual_seed(seed)
        while True:
            yield self.sample(batch_size, generator).inputs

    def firing_correlation(self, pairs: Sequence[tuple[int, int]]) -> np.ndarray:
        """The Pearson correlation of the binary firings of each pair, implied by the copula."""
        p = self.firing_probabilities.numpy()
        t = self._thresholds.double().numpy()
        out = np.empty(len(pairs))
        for idx, (i, j) in enumerate(pairs):
            rho = float(self.correlation[i, j])
            both = multivariate_normal(mean=[0.0, 0.0], cov=[[1.0, rho], [rho, 1.0]]).cdf(
                [t[i], t[j]]
            )
            out[idx] = (both - p[i] * p[j]) / np.sqrt(p[i] * (1 - p[i]) * p[j] * (1 - p[j]))
        return out

    @cached_property
    def mean_abs_firing_correlation(self) -> float:
        """Mean |correlation| of the binary firings over all feature pairs (for readers)."""
        n = self.cfg.n_features
        pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
        return float(np.abs(self.firing_correlation(pairs)).mean()) if pairs else 0.0
