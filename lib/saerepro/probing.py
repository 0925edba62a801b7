"""Probes on pooled activations: a logistic-regression probe and its held-out F1."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from saerepro.config import require


def mean_pool(acts: np.ndarray | torch.Tensor, lengths: np.ndarray) -> torch.Tensor:
    """Mean over each example's positions 1..length-1 (BOS left out): ``[n, d]`` float32."""
    acts = torch.as_tensor(np.asarray(acts), dtype=torch.float32)
    positions = torch.arange(acts.shape[1])
    lengths_t = torch.as_tensor(lengths)
    mask = ((positions >= 1) & (positions < lengths_t[:, None])).float()
    require(
        bool((mask.sum(1) > 0).all()),
        "lengths",
        "every example has a token after BOS",
        int(lengths_t.min()),
    )
    return (acts * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)


@dataclass(frozen=True)
class ProbeResult:
    f1: float
    accuracy: float
    n_train: int
    n_test: int


def f1_score(labels: torch.Tensor, predicted: torch.Tensor) -> float:
    """F1 of the positive class (label 1)."""
    tp = float(((predicted == 1) & (labels == 1)).sum())
    fp = float(((predicted == 1) & (labels == 0)).sum())
    fn = float(((predicted == 0) & (labels == 1)).sum())
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def logistic_probe(
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_test: torch.Tensor,
    y_test: torch.Tensor,
    l2: float = 1e-3,
    steps: int = 500,
    lr: float = 0.01,
) -> ProbeResult:
    """Fit an L2-regularised logistic regression (features standardised on train); test it.

    Full-batch Adam for ``steps`` steps from zero weights: deterministic and never diverges.
    """
    require(l2 >= 0, "l2", "a non-negative number", l2)
    require(set(y_train.unique().tolist()) <= {0, 1}, "y_train", "labels 0 and 1", y_train)
    mean, std = x_train.mean(0), x_train.std(0).clamp_min(1e-6)
    xs, xt = (x_train - mean) / std, (x_test - mean) / std
    weight = torch.zeros(xs.shape[1], requires_grad=True)
    bias = torch.zeros(1, requires_grad=True)
    optimiser = torch.optim.Adam([weight, bias], lr=lr)
    targets = y_train.float()
    for _ in range(steps):  # full-batch: the loss is convex, Adam is robust to separable data
        optimiser.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(xs @ weight + bias, targets)
        (loss + l2 * weight.pow(2).sum()).backward()
        optimiser.step()
    with torch.no_grad():
        predicted = ((xt @ weight + bias) > 0).long()
    return ProbeResult(
        f1=f1_score(y_test, predicted),
        accuracy=float((predicted == y_test).float().mean()),
        n_train=len(y_train),
        n_test=len(y_test),
    )
