"""Sparse probing (Kantamneni et al. 2025, as used by "Sparse but Wrong" §4) and its baselines.

Each example is pooled to one vector: its last token's activation (the benchmark's protocol) or
the mean over its tokens (BOS left out). Sparse probing picks the ``k`` SAE latents whose class
means differ most on the training split and fits :func:`saerepro.evals.probe_fit.fit_probe` on
them; the dense probe uses every raw dimension (the ceiling), the bag-of-tokens probe the
example's token counts (what a probe needs no model for).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from saerepro.core.checks import require
from saerepro.data.probing_tasks import ProbeTask
from saerepro.evals.probe_fit import ProbeResult, fit_probe

POOLINGS = ("last", "mean")


def _token_mask(shape: tuple[int, ...], lengths: np.ndarray | torch.Tensor) -> torch.Tensor:
    lengths_t = torch.as_tensor(np.asarray(lengths), dtype=torch.long)
    require(bool((lengths_t >= 2).all()), "lengths", "every example has a token after BOS", lengths)
    positions = torch.arange(shape[1])
    return (positions >= 1) & (positions < lengths_t[:, None])


def mean_pool(acts: np.ndarray | torch.Tensor, lengths: np.ndarray) -> torch.Tensor:
    """Mean over each example's positions 1..length-1 (BOS left out): ``[n, d]`` float32."""
    acts = torch.as_tensor(np.asarray(acts), dtype=torch.float32)
    mask = _token_mask(acts.shape, lengths).float()
    return (acts * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)


def last_token(acts: np.ndarray | torch.Tensor, lengths: np.ndarray) -> torch.Tensor:
    """Each example's activation at its last token (position length-1): ``[n, d]`` float32."""
    _token_mask(np.shape(acts), lengths)  # checks the lengths
    index = torch.as_tensor(np.asarray(lengths), dtype=torch.long) - 1
    rows = torch.arange(len(index))
    return torch.as_tensor(np.asarray(acts[rows.numpy(), index.numpy()]), dtype=torch.float32)


def pool(acts: np.ndarray | torch.Tensor, lengths: np.ndarray, pooling: str) -> torch.Tensor:
    require(pooling in POOLINGS, "pooling", f"one of {POOLINGS}", pooling)
    return last_token(acts, lengths) if pooling == "last" else mean_pool(acts, lengths)


def mean_difference_latents(features: torch.Tensor, labels: torch.Tensor, k: int) -> torch.Tensor:
    """The ``k`` latents whose mean activation differs most between the classes (absolute
    difference; Kantamneni et al.'s selection), largest first, ties broken by index."""
    require(1 <= k <= features.shape[1], "k", f"an integer in 1..{features.shape[1]}", k)
    positive = labels == 1
    require(bool(positive.any() and (~positive).any()), "labels", "both classes present", labels)
    difference = (features[positive].mean(0) - features[~positive].mean(0)).abs()
    order = torch.argsort(-difference.double(), stable=True)
    return order[:k]


def probe_split(features: torch.Tensor, task: ProbeTask) -> ProbeResult:
    """Fit on the task's training split, score on its test split."""
    train, test = task.is_train, ~task.is_train
    return fit_probe(features[train], task.labels[train], features[test], task.labels[test])


def sparse_probe(features: torch.Tensor, task: ProbeTask, k: int) -> ProbeResult:
    """Select ``k`` latents by class-mean difference on the train split, fit the probe on them,
    and score it on the held-out split."""
    latents = mean_difference_latents(features[task.is_train], task.labels[task.is_train], k)
    return probe_split(features[:, latents], task)


def dense_probe(task: ProbeTask, pooling: str = "last") -> ProbeResult:
    """The ceiling: the probe on every dimension of the pooled raw activations."""
    return probe_split(pool(task.acts, task.lengths, pooling), task)


def token_counts(token_ids: Sequence[Sequence[int]], is_train: torch.Tensor) -> torch.Tensor:
    """Each example's count of every token seen at least twice in the training split."""
    counts: dict[int, int] = {}
    for ids, train in zip(token_ids, is_train.tolist(), strict=True):
        if train:
            for token in ids:
                counts[token] = counts.get(token, 0) + 1
    kept = sorted(token for token, count in counts.items() if count >= 2)
    vocabulary = {token: i for i, token in enumerate(kept)}
    features = torch.zeros(len(token_ids), max(1, len(vocabulary)))
    for row, ids in enumerate(token_ids):
        for token in ids:
            if token in vocabulary:
                features[row, vocabulary[token]] += 1
    return features


def bag_of_tokens_probe(token_ids: Sequence[Sequence[int]], task: ProbeTask) -> ProbeResult:
    """The baseline that needs no model: the probe on token counts (word order thrown away)."""
    require(len(token_ids) == len(task.labels), "token_ids", "one list per example", len(token_ids))
    return probe_split(token_counts(token_ids, task.is_train), task)


@torch.no_grad()
def pooled_latents(
    encode: Callable[[torch.Tensor], torch.Tensor],
    task: ProbeTask,
    scale: float = 1.0,
    pooling: str = "last",
    chunk_examples: int = 128,
) -> torch.Tensor:
    """Each example's SAE latents, pooled as ``pooling`` says: ``[n, d_sae]``.

    Only real token positions are encoded (BOS and padding never are); ``scale`` maps raw
    activations into the SAE's normalisation.
    """
    require(pooling in POOLINGS, "pooling", f"one of {POOLINGS}", pooling)
    require(chunk_examples >= 1, "chunk_examples", "at least 1", chunk_examples)
    if pooling == "last":
        return encode(last_token(task.acts, task.lengths) * scale)
    lengths = torch.as_tensor(task.lengths, dtype=torch.long)
    pooled = []
    for start in range(0, len(lengths), chunk_examples):
        block_lengths = lengths[start : start + chunk_examples]
        block = torch.from_numpy(np.asarray(task.acts[start : start + chunk_examples]))
        mask = _token_mask(block.shape, block_lengths)
        latents = encode(block[mask].float() * scale)
        example = torch.arange(len(block_lengths)).repeat_interleave(mask.sum(1))
        sums = torch.zeros(len(block_lengths), latents.shape[1]).index_add_(0, example, latents)
        pooled.append(sums / (block_lengths - 1)[:, None])
    return torch.cat(pooled)
