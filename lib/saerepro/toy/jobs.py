"""BatchTopK SAEs on the toy model: training jobs, the ground-truth SAE, and their evaluation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from sae_lens import BatchTopKTrainingSAE, BatchTopKTrainingSAEConfig
from sae_lens.saes.sae import TrainingSAE

from saerepro import metrics
from saerepro.saes.checkpoints import load_training_sae, save_training_sae
from saerepro.saes.inference import encode_decode
from saerepro.toy.model import ToyModel, ToyModelConfig, ToySample
from saerepro.training.trainer import (
    StepHook,
    TrainSettings,
    make_training_sae,
    train_sae,
)


@dataclass(frozen=True)
class ToySAEJob:
    """One BatchTopK SAE to train on a toy model and where to save it.

    ``k`` is the SAE's L0 (its starting L0 when a ``controller`` hook changes it during training).
    ``architecture`` is a BatchTopK training architecture: the fast one by default, or SAELens's
    stock ``batchtopk`` (same loss, slower).
    """

    model: ToyModelConfig
    k: float
    d_sae: int
    settings: TrainSettings
    seed: int
    checkpoint: str
    controller: StepHook | None = None
    architecture: str = "fast_batchtopk"


@dataclass(frozen=True)
class ToySAERun:
    """What a training job reports back (the SAE itself is at ``checkpoint``)."""

    checkpoint: str
    k: float
    seed: int
    loss_steps: list[int]
    mse_losses: list[float]
    l0s: list[float]
    seconds: float
    controller_history: list[Any] = field(default_factory=list)


def train_toy_sae(job: ToySAEJob) -> ToySAERun:
    """Train one BatchTopK SAE on a fresh stream from the toy model and save it."""
    model = ToyModel(job.model)
    sae = make_training_sae(
        job.architecture, seed=job.seed, d_in=job.model.d_model, d_sae=job.d_sae, k=job.k
    )
    # the data stream gets its own seed, distinct from the SAE initialisation's
    hooks = [] if job.controller is None else [job.controller]
    result = train_sae(
        sae,
        model.batches(job.settings.batch_size, seed=10_000 + job.seed),
        job.settings,
        hooks=hooks,
        progress=False,
    )
    save_training_sae(sae, job.checkpoint)
    return ToySAERun(
        checkpoint=job.checkpoint,
        k=job.k,
        seed=job.seed,
        loss_steps=result.loss_steps,
        mse_losses=result.mse_losses,
        l0s=result.l0s,
        seconds=result.seconds,
        controller_history=list(getattr(job.controller, "history", [])),
    )


def ground_truth_sae(model: ToyModel, k: float) -> BatchTopKTrainingSAE:
    """A BatchTopK SAE whose encoder and decoder are exactly the true features, run at ``k``."""
    cfg = BatchTopKTrainingSAEConfig(d_in=model.cfg.d_model, d_sae=model.cfg.n_features, k=k)
    sae = BatchTopKTrainingSAE(cfg)
    with torch.no_grad():
        sae.W_dec.copy_(model.features)
        sae.W_enc.copy_(model.features.T)
        sae.b_enc.zero_()
        sae.b_dec.zero_()
    return sae


def unit_decoder(sae: TrainingSAE) -> torch.Tensor:
    """Decoder rows at unit norm (the folded decoder of SAELens's saved inference model)."""
    return metrics.unit_rows(sae.W_dec.detach())


@dataclass(frozen=True)
class ToySAEEval:
    """How an SAE does on held-out toy samples, with what the verdicts' intervals resample: the
    squared error and total variance of each selection chunk (BatchTopK selects per chunk, so
    chunks, not samples, are the independent units), each true feature's best cosine, and s_n^dec
    on the two halves of the sample (its sampling noise)."""

    mse: float
    explained_variance: float
    l0: float
    dead_latents: int
    feature_recovery: float
    nth_projection: dict[int, float]
    chunk_sse: tuple[float, ...] = ()
    chunk_total_variance: tuple[float, ...] = ()
    best_cosines: tuple[float, ...] = ()
    nth_projection_halves: dict[int, tuple[float, float]] = field(default_factory=dict)

    def as_row(self) -> dict[str, float]:
        """A flat dict for a results table (one ``s_n=<n>`` column per n)."""
        row = {
            f: getattr(self, f)
            for f in ("mse", "explained_variance", "l0", "dead_latents", "feature_recovery")
        }
        return row | {f"s_n={n}": v for n, v in self.nth_projection.items()}


def _chunk_sums(values: torch.Tensor, batch_size: int) -> tuple[float, ...]:
    return tuple(float(chunk.sum()) for chunk in torch.split(values, batch_size))


def evaluate_toy_sae(
    sae: TrainingSAE, model: ToyModel, sample: ToySample, batch_size: int, ns: Sequence[int]
) -> ToySAEEval:
    """Reconstruction, sparsity, recovery of the true features and s_n^dec on ``sample``."""
    x = sample.inputs
    acts, recons = encode_decode(sae, x, batch_size)
    W_dec = unit_decoder(sae)
    b_dec = sae.b_dec.detach()
    cosines = metrics.decoder_feature_cosines(W_dec, model.features)
    projections = metrics.nth_decoder_projections(x, W_dec, b_dec, ns)
    half = len(x) // 2
    halves = zip(
        metrics.nth_decoder_projections(x[:half], W_dec, b_dec, ns),
        metrics.nth_decoder_projections(x[half:], W_dec, b_dec, ns),
        strict=True,
    )
    return ToySAEEval(
        mse=metrics.mse(x, recons),
        explained_variance=metrics.explained_variance(x, recons),
        l0=metrics.mean_l0(acts),
        dead_latents=metrics.dead_latents(acts),
        feature_recovery=metrics.feature_recovery(cosines),
        nth_projection=dict(zip(ns, projections, strict=True)),
        chunk_sse=_chunk_sums((x - recons).pow(2).sum(-1), batch_size),
        chunk_total_variance=_chunk_sums((x - x.mean(0)).pow(2).sum(-1), batch_size),
        best_cosines=tuple(float(v) for v in cosines.max(dim=0).values),
        nth_projection_halves=dict(zip(ns, halves, strict=True)),
    )


@dataclass(frozen=True)
class ToyEvalJob:
    """Evaluate the SAE at ``checkpoint`` (or, if None, the ground-truth SAE at ``k``) on
    ``samples`` held-out inputs drawn with ``seed``; picklable, for worker processes."""

    model: ToyModelConfig
    samples: int
    seed: int
    batch_size: int
    ns: tuple[int, ...]
    checkpoint: str | None = None
    k: float | None = None


def evaluate_toy_job(job: ToyEvalJob) -> ToySAEEval:
    """Run one :class:`ToyEvalJob`."""
    model = ToyModel(job.model)
    sample = model.sample(job.samples, torch.Generator().manual_seed(job.seed))
    if job.checkpoint is None:
        if job.k is None:
            raise ValueError("a ToyEvalJob needs a checkpoint or, for the ground truth, a k")
        sae = ground_truth_sae(model, job.k)
    else:
        sae = load_training_sae(job.checkpoint)
    return evaluate_toy_sae(sae, model, sample, job.batch_size, job.ns)


def checkpoint_path(root: str | Path, group: str, k: int, seed: int) -> str:
    """Where the SAE of one (group, k, seed) lives under ``root``."""
    return str(Path(root) / group / f"k{k:02d}_seed{seed}")
