"""Meta-SAEs ("Canonical Units" §5, A.8): BatchTopK SAEs trained on the unit decoder directions of
another SAE, so each latent is decomposed into a few meta-latents.

The data are the rows of an SAE's decoder, normalised to unit length; one epoch is one pass over
them. Variance explained is measured on those same rows (the meta-SAE's whole "dataset").
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from sae_lens.saes.sae import SAE, TrainingSAE

from saerepro.core.checks import require
from saerepro.metrics import unit_rows
from saerepro.saes.checkpoints import load_sae, save_inference_sae
from saerepro.training.seeds import init_seed
from saerepro.training.trainer import TrainResult, TrainSettings, make_training_sae, train_sae

META_ARCHITECTURE = "fast_batchtopk"


def unit_directions(sae: SAE) -> torch.Tensor:
    """An SAE's decoder rows ``[d_sae, d_in]`` scaled to unit norm, detached, float32."""
    return unit_rows(sae.W_dec.detach().float())


@dataclass(frozen=True)
class MetaSettings:
    """How a meta-SAE is trained (paper: d_meta 2304 for 49152 latents, k 4, lr 1e-4,
    batch 4096, 2000 epochs)."""

    d_meta: int
    k: int
    lr: float
    batch_size: int
    epochs: int
    seed: int

    def __post_init__(self) -> None:
        require(self.d_meta >= 2, "d_meta", "an integer >= 2", self.d_meta)
        require(1 <= self.k < self.d_meta, "k", f"in 1..{self.d_meta - 1}", self.k)
        require(self.lr > 0, "lr", "> 0", self.lr)
        for name in ("batch_size", "epochs"):
            require(getattr(self, name) >= 1, name, "an integer >= 1", getattr(self, name))


def direction_batches(
    directions: torch.Tensor, batch_size: int, epochs: int, seed: int
) -> Iterator[torch.Tensor]:
    """Shuffled batches of rows, ``epochs`` passes; a batch never spans two epochs, and when
    ``batch_size`` exceeds the rows one batch is every row."""
    generator = torch.Generator().manual_seed(seed)
    size = min(batch_size, len(directions))
    for _ in range(epochs):
        order = torch.randperm(len(directions), generator=generator)
        for start in range(0, len(order) - size + 1, size):
            yield directions[order[start : start + size]]


def meta_steps(n_directions: int, settings: MetaSettings) -> int:
    size = min(settings.batch_size, n_directions)
    return settings.epochs * (n_directions // size)


def train_meta_sae(
    directions: torch.Tensor,
    settings: MetaSettings,
    frozen_decoder: torch.Tensor | None = None,
    progress: bool = False,
) -> TrainResult:
    """Train a BatchTopK meta-SAE on ``directions``. With ``frozen_decoder`` (``[d_meta, d_in]``)
    the decoder rows are fixed to those, and only the encoder and biases learn (Fig. 23)."""
    require(directions.ndim == 2, "directions", "a [n, d_in] matrix", tuple(directions.shape))
    sae = make_training_sae(
        META_ARCHITECTURE,
        init_seed(settings.d_meta, settings.seed),  # never an ordinary SAE's initial rows
        d_in=directions.shape[1],
        d_sae=settings.d_meta,
        k=settings.k,
    )
    if frozen_decoder is not None:
        _freeze_decoder(sae, frozen_decoder)
    size = min(settings.batch_size, len(directions))
    train_settings = TrainSettings(
        meta_steps(len(directions), settings) * size, size, lr=settings.lr
    )
    batches = direction_batches(directions, settings.batch_size, settings.epochs, settings.seed)
    return train_sae(sae, batches, train_settings, progress=progress)


def _freeze_decoder(sae: TrainingSAE, rows: torch.Tensor) -> None:
    require(
        tuple(rows.shape) == tuple(sae.W_dec.shape),
        "frozen_decoder",
        f"a [{sae.W_dec.shape[0]}, {sae.W_dec.shape[1]}] matrix",
        tuple(rows.shape),
    )
    with torch.no_grad():
        sae.W_dec.copy_(rows / rows.norm(dim=1, keepdim=True).clamp_min(1e-12))
    sae.W_dec.requires_grad_(False)


@torch.no_grad()
def meta_codes(meta: SAE | TrainingSAE, directions: torch.Tensor) -> torch.Tensor:
    """Meta-latent activations ``[n, d_meta]`` of every direction (per-sample inference)."""
    meta.eval()
    return meta.encode(directions)


@torch.no_grad()
def variance_explained(meta: SAE | TrainingSAE, directions: torch.Tensor) -> float:
    """1 - ||D - D_hat||^2 / ||D - mean(D)||^2 over the directions."""
    reconstruction = meta.decode(meta_codes(meta, directions))
    residual = (directions - reconstruction).double().pow(2).sum()
    total = (directions - directions.mean(0)).double().pow(2).sum()
    return float(1 - residual / total)


def save_meta_sae(meta: TrainingSAE, path: str | Path) -> Path:
    """Save a trained meta-SAE in SAELens's inference form (per-sample threshold), atomically."""
    return save_inference_sae(meta, path)


def load_meta_sae(path: str | Path) -> SAE:
    """A meta-SAE saved by :func:`save_meta_sae`, in eval mode."""
    return load_sae(path)


def matched_to(meta: SAE | TrainingSAE, reference: torch.Tensor) -> torch.Tensor:
    """Each meta-latent's max decoder cosine to the unit rows ``reference`` (Fig. 6)."""
    return (unit_directions(meta) @ reference.T).max(dim=1).values


def nearest_rows(meta: SAE | TrainingSAE, reference: torch.Tensor) -> torch.Tensor:
    """For each meta decoder row, the most similar row of ``reference`` (Fig. 23's swap)."""
    rows = meta.W_dec.detach().float()
    return reference[(rows @ reference.T).argmax(dim=1)]
