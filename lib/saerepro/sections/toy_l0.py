"""Section "toy L0" (Sparse but Wrong §3, §3.1, §3.2, A.1, A.2): parameters and training jobs."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from saerepro.core.checks import bounded, require
from saerepro.toy.jobs import ToyEvalJob, ToySAEJob, checkpoint_path
from saerepro.toy.model import ToyModelConfig
from saerepro.training.trainer import TrainSettings

SECTION = "toy_l0"


@dataclass(frozen=True)
class ToyL0Params:
    """``params.yaml: toy_l0.<tier>``."""

    model: ToyModelConfig
    d_sae: int
    batch_size: int
    lr: float
    headline_ks: tuple[int, ...]
    headline_samples: int
    headline_seeds: tuple[int, ...]
    sweep_ks: tuple[int, ...]
    sweep_samples: int
    sweep_seed: int
    neighbour_seeds: tuple[int, ...]
    eval_samples: int
    eval_seed: int
    projection_ns: tuple[int, ...]
    recovery_threshold: float
    max_late_loss_drop: float = bounded(gt=0, lt=1)
    workers: int

    def __post_init__(self) -> None:
        require(self.d_sae >= 1, "d_sae", "an integer >= 1", self.d_sae)
        for name in ("headline_ks", "sweep_ks", "projection_ns"):
            values = getattr(self, name)
            require(
                len(values) > 0 and all(1 <= v <= self.d_sae for v in values),
                name,
                f"a non-empty list of integers in 1..{self.d_sae} (d_sae)",
                values,
            )
        require(
            len(self.projection_ns) >= 2,
            "projection_ns",
            "at least two values of n (SBW Fig. 2 compares two)",
            self.projection_ns,
        )
        true_l0 = self.model.true_l0
        require(
            round(true_l0) in self.headline_ks,
            "headline_ks",
            f"a list containing the true L0 rounded, {round(true_l0)}",
            self.headline_ks,
        )
        require(
            {1, 2} <= set(self.sweep_ks) and max(self.sweep_ks) > true_l0,
            "sweep_ks",
            f"a list containing 1 and 2 (Fig. 7) and an L0 above the true L0 {true_l0:.2f}",
            self.sweep_ks,
        )
        require(
            len(self.headline_seeds) >= 1,
            "headline_seeds",
            "at least one seed",
            self.headline_seeds,
        )
        for name in ("headline_samples", "sweep_samples", "eval_samples"):
            require(
                getattr(self, name) >= self.batch_size,
                name,
                f">= batch_size={self.batch_size}",
                getattr(self, name),
            )
        require(self.batch_size >= 1, "batch_size", "an integer >= 1", self.batch_size)
        require(self.lr > 0, "lr", "> 0", self.lr)
        require(
            0 < self.recovery_threshold <= 1,
            "recovery_threshold",
            "in (0, 1]",
            self.recovery_threshold,
        )
        require(self.workers >= 1, "workers", "an integer >= 1", self.workers)
        require(
            set(self.neighbour_ks) <= set(self.sweep_ks),
            "sweep_ks",
            f"a list containing the L0s either side of the true L0, {self.neighbour_ks}",
            self.sweep_ks,
        )
        require(
            self.sweep_seed not in self.neighbour_seeds,
            "neighbour_seeds",
            f"seeds other than sweep_seed={self.sweep_seed}",
            self.neighbour_seeds,
        )

    @property
    def neighbour_ks(self) -> tuple[int, int]:
        """The L0s either side of the true L0 (10 and 11 for 10.95): where the learned and the
        ground-truth SAE are closest, so where Fig. 6 needs more than one seed."""
        below = math.floor(self.model.true_l0)
        return below, below + 1

    def settings(self, samples: int) -> TrainSettings:
        return TrainSettings(total_samples=samples, batch_size=self.batch_size, lr=self.lr)

    def eval_job(self, checkpoint: str | None = None, k: float | None = None) -> ToyEvalJob:
        """Evaluation on the held-out samples of a saved SAE, or of the ground truth at ``k``."""
        return ToyEvalJob(
            self.model,
            self.eval_samples,
            self.eval_seed,
            self.batch_size,
            self.projection_ns,
            checkpoint=checkpoint,
            k=k,
        )

    def job(
        self, checkpoint_root: str | Path, group: str, k: int, seed: int, samples: int
    ) -> ToySAEJob:
        """One BatchTopK SAE at ``k`` on ``samples`` fresh samples, saved under ``group``."""
        return ToySAEJob(
            self.model,
            k,
            self.d_sae,
            self.settings(samples),
            seed,
            checkpoint_path(checkpoint_root, group, k, seed),
        )

    def headline_jobs(self, checkpoint_root: str | Path) -> list[ToySAEJob]:
        """The Fig. 1 SAEs: every headline k on every headline seed."""
        return [
            self.job(checkpoint_root, "headline", k, seed, self.headline_samples)
            for seed in self.headline_seeds
            for k in self.headline_ks
        ]

    def sweep_jobs(self, checkpoint_root: str | Path) -> list[ToySAEJob]:
        """The Fig. 2 / Fig. 6 sweep: one SAE per k."""
        return [
            self.job(checkpoint_root, "sweep", k, self.sweep_seed, self.sweep_samples)
            for k in self.sweep_ks
        ]

    def neighbour_jobs(self, checkpoint_root: str | Path) -> list[ToySAEJob]:
        """More seeds of the sweep SAEs at :attr:`neighbour_ks` (Fig. 6's seed interval)."""
        return [
            self.job(checkpoint_root, "sweep", k, seed, self.sweep_samples)
            for seed in self.neighbour_seeds
            for k in self.neighbour_ks
        ]
