"""Model-level evaluation of reconstructions: splice them into the forward pass, measure CE.

For each batch of held-out windows the model runs once up to the hooked layer; the rest of the
model then runs on the clean activations, on zeros (ablation), and on each reconstruction. The
BOS position is never replaced and never scored. The 262k-token unembedding dominates the cost,
so keep batches small (DESIGN.md §4: <= 8 x 128 tokens).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from saerepro.core.checks import require
from saerepro.data.activations import extract_resid
from saerepro.metrics import ce_degradation, ce_loss_recovered

Reconstruction = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class SpliceResult:
    """Mean next-token CE (nats) clean, with the reconstruction, and with zeros; mean KL."""

    clean_ce: float
    spliced_ce: float
    ablated_ce: float
    kl: float
    n_tokens: int

    @property
    def degradation(self) -> float:
        return ce_degradation(self.clean_ce, self.spliced_ce)

    @property
    def loss_recovered(self) -> float:
        return ce_loss_recovered(self.clean_ce, self.spliced_ce, self.ablated_ce)

    def as_row(self) -> dict[str, float]:
        return {
            "clean_ce": self.clean_ce,
            "spliced_ce": self.spliced_ce,
            "ablated_ce": self.ablated_ce,
            "ce_degradation": self.degradation,
            "ce_loss_recovered": self.loss_recovered,
            "kl": self.kl,
            "n_tokens": self.n_tokens,
        }


def sae_reconstruction(sae: torch.nn.Module, scale: float = 1.0) -> Reconstruction:
    """A SAELens SAE as a reconstruction of raw activations, in the cache's normalisation."""

    def reconstruct(acts: torch.Tensor) -> torch.Tensor:
        return sae(acts * scale) / scale

    return reconstruct


def _log_probs_after(model, resid: torch.Tensor, layer: int) -> torch.Tensor:
    logits = model(resid, start_at_layer=layer + 1)
    return torch.log_softmax(logits[:, 1:-1].float(), dim=-1)


def _ce(log_probs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return -log_probs.gather(-1, targets.unsqueeze(-1)).squeeze(-1)


def splice_evaluation(
    model,
    windows: torch.Tensor,
    layer: int,
    reconstructions: Mapping[str, Reconstruction],
    batch_size: int = 8,
    progress: bool = True,
) -> dict[str, SpliceResult]:
    """CE clean / spliced / zero-ablated and KL(clean || spliced) for every reconstruction.

    Scored positions are 1..context-2 (predicting tokens 2..context-1): the BOS position's
    prediction is the same in every variant and is left out.
    """
    require(batch_size >= 1, "batch_size", "at least 1", batch_size)
    require(
        windows.ndim == 2 and windows.shape[1] >= 3,
        "windows",
        "[n, >=3] token ids",
        tuple(windows.shape),
    )
    sums = {name: torch.zeros(4, dtype=torch.float64) for name in reconstructions}
    count = 0
    with torch.no_grad():
        for start in tqdm(
            range(0, len(windows), batch_size), desc="CE evaluation", disable=not progress
        ):
            tokens = windows[start : start + batch_size].to(model.cfg.device)
            targets = tokens[:, 2:]
            resid = extract_resid(model, tokens, layer)
            clean = _log_probs_after(model, resid, layer)
            clean_ce = _ce(clean, targets).sum()
            ablated = resid.clone()
            ablated[:, 1:] = 0
            ablated_ce = _ce(_log_probs_after(model, ablated, layer), targets).sum()
            for name, reconstruct in reconstructions.items():
                spliced_resid = resid.clone()
                spliced_resid[:, 1:] = reconstruct(resid[:, 1:])
                spliced = _log_probs_after(model, spliced_resid, layer)
                kl = (clean.exp() * (clean - spliced)).sum()
                spliced_ce = _ce(spliced, targets).sum()
                sums[name] += torch.tensor(
                    [float(v) for v in (clean_ce, spliced_ce, ablated_ce, kl)], dtype=torch.float64
                )
            count += targets.numel()
    return {
        name: SpliceResult(*(float(v) / count for v in total), n_tokens=count)
        for name, total in sums.items()
    }
