"""Probes on pooled activations: a logistic-regression probe and its held-out F1, on raw
activations (the dense ceiling) or on a few SAE latents chosen by class-mean difference (sparse
probing, Kantamneni et al. 2025, as used by "Sparse but Wrong" §4)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from saerepro.core.checks import require
from saerepro.data.probing_tasks import ProbeTask


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


def mean_difference_latents(features: torch.Tensor, labels: torch.Tensor, k: int) -> torch.Tensor:
    """The ``k`` latents whose mean activation differs most between the classes (absolute
    difference; Kantamneni et al.'s selection), largest first, ties broken by index."""
    require(1 <= k <= features.shape[1], "k", f"an integer in 1..{features.shape[1]}", k)
    positive = labels == 1
    require(bool(positive.any() and (~positive).any()), "labels", "both classes present", labels)
    difference = (features[positive].mean(0) - features[~positive].mean(0)).abs()
    order = torch.argsort(-difference.double(), stable=True)
    return order[:k]


def sparse_probe(features: torch.Tensor, task: ProbeTask, k: int) -> ProbeResult:
    """Select ``k`` latents by class-mean difference on the train split, fit a logistic probe on
    them, and score it on the held-out split."""
    train, test = task.is_train, ~task.is_train
    latents = mean_difference_latents(features[train], task.labels[train], k)
    chosen = features[:, latents]
    return logistic_probe(chosen[train], task.labels[train], chosen[test], task.labels[test])


def dense_probe(task: ProbeTask) -> ProbeResult:
    """The ceiling: a logistic probe on mean-pooled raw activations (every dimension)."""
    pooled = mean_pool(task.acts, task.lengths)
    train, test = task.is_train, ~task.is_train
    return logistic_probe(pooled[train], task.labels[train], pooled[test], task.labels[test])


@torch.no_grad()
def pooled_latents(
    encode: Callable[[torch.Tensor], torch.Tensor],
    task: ProbeTask,
    scale: float = 1.0,
    chunk_examples: int = 128,
) -> torch.Tensor:
    """Each example's SAE latents mean-pooled over positions 1..length-1: ``[n, d_sae]``.

    Only real token positions are encoded (BOS and padding never are); ``scale`` maps raw
    activations into the SAE's normalisation.
    """
    require(chunk_examples >= 1, "chunk_examples", "at least 1", chunk_examples)
    lengths = torch.as_tensor(task.lengths, dtype=torch.long)
    require(bool((lengths >= 2).all()), "lengths", "every example has a token after BOS", lengths)
    positions = torch.arange(task.acts.shape[1])
    pooled = []
    for start in range(0, len(lengths), chunk_examples):
        block_lengths = lengths[start : start + chunk_examples]
        mask = (positions >= 1) & (positions < block_lengths[:, None])
        block = torch.from_numpy(np.asarray(task.acts[start : start + chunk_examples]))
        latents = encode(block[mask].float() * scale)
        example = torch.arange(len(block_lengths)).repeat_interleave(mask.sum(1))
        sums = torch.zeros(len(block_lengths), latents.shape[1]).index_add_(0, example, latents)
        pooled.append(sums / (block_lengths - 1)[:, None])
    return torch.cat(pooled)
