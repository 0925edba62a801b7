"""Section "LLM L0 sweep" (Sparse but Wrong §4, Fig. 3, 4, 10): parameters, jobs and the claims'
arithmetic (where along the L0 grid each curve has its optimum)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from sae_lens.saes.sae import SAE

from saerepro.core.checks import require
from saerepro.core.params import load_params
from saerepro.data.probing_tasks import ProbeTask
from saerepro.evals.heldout import decoder_projections, heldout_metrics
from saerepro.evals.probing import POOLINGS, pooled_latents, sparse_probe
from saerepro.saes.checkpoints import sae_name
from saerepro.training.cached_jobs import CachedSAEJob
from saerepro.training.recipe import TrainingRecipe

SECTION = "llm_l0_sweep"


@dataclass(frozen=True)
class LLMSweepParams:
    """``params.yaml: llm_l0_sweep.<tier>``."""

    d_sae: int
    ks: tuple[int, ...]
    recipe: TrainingRecipe  # params.yaml: recipe, with this section's overrides
    seed: int
    projection_ns: tuple[int, ...]  # N of s_n^dec (SBW §3.2's rule: see __post_init__)
    plausible_l0: int  # the largest L0 that could be right: every N must lie above it
    eval_tokens: int
    projection_tokens: int
    ce_windows: int
    probe_ks: tuple[int, ...]
    flat_tolerance: float
    workers: int

    def __post_init__(self) -> None:
        require(self.d_sae >= 2, "d_sae", "an integer >= 2", self.d_sae)
        require(
            len(self.ks) >= 3
            and list(self.ks) == sorted(set(self.ks))
            and self.ks[0] >= 1
            and self.ks[-1] < self.d_sae,
            "ks",
            f"at least three increasing integers in 1..{self.d_sae - 1} (below d_sae)",
            self.ks,
        )
        # SBW §3.2: "n should be sufficiently larger than a reasonable guess at the correct
        # L0 ... picking n up to about h/2 seems to work well"
        require(
            len(self.projection_ns) >= 3
            and list(self.projection_ns) == sorted(set(self.projection_ns))
            and all(self.plausible_l0 < n <= self.d_sae // 2 for n in self.projection_ns),
            "projection_ns",
            f"at least three increasing values of N in ({self.plausible_l0}, {self.d_sae // 2}]: "
            "above plausible_l0 and at most half the width d_sae (SBW §3.2)",
            self.projection_ns,
        )
        require(
            1 <= self.plausible_l0 < self.d_sae,
            "plausible_l0",
            f"an integer in 1..{self.d_sae - 1}",
            self.plausible_l0,
        )
        require(
            len(self.probe_ks) >= 1 and all(k >= 1 for k in self.probe_ks),
            "probe_ks",
            "a non-empty list of positive integers",
            self.probe_ks,
        )
        for name in (
            "eval_tokens",
            "projection_tokens",
            "ce_windows",
            "workers",
        ):
            require(getattr(self, name) >= 1, name, "an integer >= 1", getattr(self, name))
        require(self.flat_tolerance > 0, "flat_tolerance", "> 0", self.flat_tolerance)

    def jobs(self, train_dir: str | Path, checkpoint_root: str | Path) -> list[CachedSAEJob]:
        """One BatchTopK SAE per L0 of the grid, widest k first (the slowest start first)."""
        settings = self.recipe.settings()
        return [
            CachedSAEJob(
                train_dir=str(train_dir),
                architecture="fast_batchtopk",
                sae_cfg={"d_sae": self.d_sae, "k": k},
                settings=settings,
                seed=self.seed,
                checkpoint=str(
                    Path(checkpoint_root) / sae_name("batchtopk", self.d_sae, self.seed, k=k)
                ),
                centre_decoder_bias=self.recipe.centre_decoder_bias,
            )
            for k in sorted(self.ks, reverse=True)
        ]


def optimum_index(values: Sequence[float], maximise: bool = False) -> int:
    """Grid index of the smallest value (largest with ``maximise``); the first one on ties."""
    require(len(values) >= 1, "values", "a non-empty sequence", values)
    sign = -1 if maximise else 1
    return min(range(len(values)), key=lambda i: (sign * values[i], i))


def is_interior(index: int, n_points: int) -> bool:
    """Whether a grid optimum lies strictly inside the grid (not at either end)."""
    return 0 < index < n_points - 1


def load(tier: str | None = None, params_file: str = "params.yaml") -> LLMSweepParams:
    return load_params(SECTION, LLMSweepParams, tier, params_file)


def evaluate_sae(
    sae: SAE,
    eval_acts: torch.Tensor,
    projection_acts: torch.Tensor,
    ns: Sequence[int],
    tasks: Sequence[ProbeTask],
    probe_ks: Sequence[int],
    scale: float,
) -> tuple[dict[str, float], list[dict[str, Any]], list[dict[str, Any]]]:
    """One sweep SAE on held-out data: reconstruction, s_n^dec and sparse probing.

    Sparse probing follows the benchmark's protocol on last-token latents (the headline columns
    ``probe_f1_k=K`` and ``probe_auc_k=K``) and repeats it on mean-pooled latents
    (``probe_f1_mean_k=K``). Returns the SAE's summary row (averages over tasks), one row per
    task, pooling and probe k, and one row per test example (its score and label, for
    bootstrap intervals).
    """
    heldout = heldout_metrics(sae, eval_acts)
    row: dict[str, float] = {
        "l0": heldout.l0,
        "nmse": heldout.nmse,
        "explained_variance": heldout.explained_variance,
        "dead_latents": heldout.dead_latents,
        "dead_fraction": heldout.dead_fraction,
    }
    for n, value in decoder_projections(sae, projection_acts, ns).items():
        row[f"s_n={n}"] = value
    probe_rows, predictions = [], []
    for task in tasks:
        labels = task.labels[~task.is_train].tolist()
        for pooling in POOLINGS:
            pooled = pooled_latents(sae.encode, task, scale, pooling)
            for k in probe_ks:
                result = sparse_probe(pooled, task, k)
                where = {"task": task.name, "pooling": pooling, "probe_k": k}
                probe_rows.append(
                    {
                        **where,
                        "f1": result.f1,
                        "auc": result.auc,
                        "accuracy": result.accuracy,
                        "l1_strength": result.strength,
                    }
                )
                if pooling == "last":
                    predictions += [
                        {**where, "example": i, "label": label, "score": round(score, 4)}
                        for i, (label, score) in enumerate(
                            zip(labels, result.scores.tolist(), strict=True)
                        )
                    ]
    for pooling in POOLINGS:
        suffix = "" if pooling == "last" else "mean_"
        for k in probe_ks:
            chosen = [r for r in probe_rows if r["probe_k"] == k and r["pooling"] == pooling]
            row[f"probe_f1_{suffix}k={k}"] = sum(r["f1"] for r in chosen) / len(chosen)
            row[f"probe_auc_{suffix}k={k}"] = sum(r["auc"] for r in chosen) / len(chosen)
    return row, probe_rows, predictions
