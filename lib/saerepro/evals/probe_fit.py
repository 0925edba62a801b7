"""The probe of the sparse-probing benchmark: L1-regularised logistic regression, its strength
chosen on a validation split carved from the training split, scored by weighted F1 and AUC.

Kantamneni et al. fit scikit-learn's L1 logistic regression with the regularisation chosen on
validation data; here the same objective (mean log-loss + strength * ||w||_1, features
standardised on the training split) is minimised by FISTA, full-batch, from zero weights, so the
fit is deterministic and needs no extra dependency.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from saerepro.core.checks import require

STRENGTHS = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)
VALIDATION_FRACTION = 0.2
ITERATIONS = 400


@dataclass(frozen=True)
class ProbeResult:
    """A fitted probe's test scores: weighted F1, AUC, accuracy, the chosen strength, and each
    test example's score (the logit) and predicted label, for bootstrap intervals."""

    f1: float
    auc: float
    accuracy: float
    strength: float
    n_train: int
    n_test: int
    scores: torch.Tensor
    predicted: torch.Tensor


def weighted_f1_along(labels: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Weighted F1 along the last axis (``labels`` broadcast against ``predicted``): the F1 of
    each class, averaged with the classes' counts as weights (scikit-learn's ``"weighted"``)."""
    total = np.zeros(np.broadcast_shapes(labels.shape, predicted.shape)[:-1])
    n = labels.shape[-1]
    for cls in (0, 1):
        truth, guess = labels == cls, predicted == cls
        tp = (truth & guess).sum(-1)
        fp = (~truth & guess).sum(-1)
        fn = (truth & ~guess).sum(-1)
        f1 = np.where(tp > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 0.0)
        total = total + f1 * truth.sum(-1) / n
    return total


def weighted_f1(labels: torch.Tensor, predicted: torch.Tensor) -> float:
    """The weighted F1 of one set of predictions."""
    return float(weighted_f1_along(labels.numpy(), predicted.numpy()))


def auc(labels: torch.Tensor, scores: torch.Tensor) -> float:
    """Area under the ROC curve: the chance a positive outscores a negative (ties count half)."""
    positive, negative = scores[labels == 1].double(), scores[labels == 0].double()
    require(len(positive) and len(negative), "labels", "both classes present", labels)
    greater = (positive[:, None] > negative[None, :]).double().mean()
    ties = (positive[:, None] == negative[None, :]).double().mean()
    return float(greater + 0.5 * ties)


def _design(x: torch.Tensor) -> tuple[torch.Tensor, float]:
    """The design matrix (features and a bias column, float64) and FISTA's step, 1 / the
    Lipschitz constant of the mean log-loss's gradient."""
    design = torch.cat([x, torch.ones(len(x), 1)], 1).double()
    lipschitz = float(torch.linalg.matrix_norm(design, ord=2)) ** 2 / (4 * len(x))
    return design, 1.0 / max(lipschitz, 1e-12)


def _fit_l1(
    design: torch.Tensor, step: float, y: torch.Tensor, strength: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """FISTA on mean log-loss + ``strength`` * ||w||_1 (the bias is not penalised)."""
    n = len(design)
    target = y.double()
    w = torch.zeros(design.shape[1], dtype=torch.float64)
    z, t = w.clone(), 1.0
    for _ in range(ITERATIONS):
        gradient = design.T @ (torch.sigmoid(design @ z) - target) / n
        moved = z - step * gradient
        shrunk = moved.sign() * (moved.abs() - step * strength).clamp_min(0)
        shrunk[-1] = moved[-1]
        t_next = (1 + (1 + 4 * t * t) ** 0.5) / 2
        z = shrunk + (t - 1) / t_next * (shrunk - w)
        w, t = shrunk, t_next
    return w[:-1], w[-1:]


def _log_loss(x: torch.Tensor, y: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> float:
    logits = x.double() @ weight + bias
    return float(torch.nn.functional.binary_cross_entropy_with_logits(logits, y.double()))


def validation_split(n: int, fraction: float, seed: int = 0) -> torch.Tensor:
    """A fixed boolean mask choosing ``fraction`` of ``n`` training examples for validation."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    mask = torch.zeros(n, dtype=torch.bool)
    mask[order[: max(1, round(n * fraction))]] = True
    return mask


def fit_probe(
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_test: torch.Tensor,
    y_test: torch.Tensor,
    strengths: Sequence[float] = STRENGTHS,
    validation_fraction: float = VALIDATION_FRACTION,
) -> ProbeResult:
    """Choose the L1 strength with the lowest validation log-loss, refit on the whole training
    split with it, and score the test split."""
    require(len(strengths) >= 1 and min(strengths) >= 0, "strengths", "non-negative", strengths)
    require(0 < validation_fraction < 1, "validation_fraction", "in (0, 1)", validation_fraction)
    require(set(y_train.unique().tolist()) == {0, 1}, "y_train", "labels 0 and 1, both", y_train)
    mean, std = x_train.mean(0), x_train.std(0).clamp_min(1e-6)
    xs, xt = (x_train - mean) / std, (x_test - mean) / std
    held = validation_split(len(y_train), validation_fraction)
    fit_design, fit_step = _design(xs[~held])  # one design for every strength tried
    losses = [
        _log_loss(xs[held], y_train[held], *_fit_l1(fit_design, fit_step, y_train[~held], s))
        for s in strengths
    ]
    strength = strengths[min(range(len(strengths)), key=losses.__getitem__)]
    weight, bias = _fit_l1(*_design(xs), y_train, strength)
    scores = (xt.double() @ weight + bias).float()
    predicted = (scores > 0).long()
    return ProbeResult(
        f1=weighted_f1(y_test, predicted),
        auc=auc(y_test, scores),
        accuracy=float((predicted == y_test).float().mean()),
        strength=float(strength),
        n_train=len(y_train),
        n_test=len(y_test),
        scores=scores,
        predicted=predicted,
    )
