"""Section "Meta-SAEs" (Canonical Units §5, A.8, Table 1, Fig. 6, 23): parameters and jobs.

The meta-SAE decomposes the widest SAE of the family (:mod:`saerepro.training.family`).
Ordinary SAEs
of widths near the meta-SAE's, which the family lacks, are trained here with the BatchTopK
section's settings so that Fig. 6 has a like-for-like comparison. The algorithms are in
:mod:`saerepro.evals.meta_sae`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from saerepro.core.checks import require
from saerepro.core.params import load_params
from saerepro.evals.meta_sae import MetaSettings
from saerepro.sections import batchtopk
from saerepro.training.cached_jobs import CachedSAEJob

SECTION = "meta_sae"
PAPER_RATIO = 49152 / 2304  # CU §5: SAE latents per meta-latent


@dataclass(frozen=True)
class MetaSAEParams:
    """``params.yaml: meta_sae.<tier>``."""

    width_ratio: float  # latents of the decomposed SAE per meta-latent (paper: 49152 / 2304)
    k: int  # meta-latents per latent, on average
    lr: float
    batch_size: int
    epochs: int
    seed: int
    extra_widths: tuple[int, ...]  # ordinary SAEs near the meta width, trained here
    refit_drop_tolerance: float  # Fig. 23: "small" drop in variance explained (absolute)
    member_cosine: float  # a member latent "matches" the smallest SAE above this cosine
    eval_tokens: int  # held-out tokens for the latents' contexts
    decompositions: int  # latents shown with their meta-latents
    contexts: int  # contexts per latent

    def __post_init__(self) -> None:
        require(self.width_ratio > 1, "width_ratio", "> 1", self.width_ratio)
        require(self.k >= 1, "k", "an integer >= 1", self.k)
        require(self.lr > 0, "lr", "> 0", self.lr)
        require(
            all(w >= 2 for w in self.extra_widths),
            "extra_widths",
            "widths >= 2",
            self.extra_widths,
        )
        require(
            0 <= self.refit_drop_tolerance < 1,
            "refit_drop_tolerance",
            "in [0, 1)",
            self.refit_drop_tolerance,
        )
        require(-1 <= self.member_cosine <= 1, "member_cosine", "in [-1, 1]", self.member_cosine)
        for name in ("batch_size", "epochs", "eval_tokens", "decompositions", "contexts"):
            require(getattr(self, name) >= 1, name, "an integer >= 1", getattr(self, name))

    def meta_width(self, decomposed_width: int) -> int:
        """The meta-SAE's width for an SAE of ``decomposed_width`` latents (more than k)."""
        width = max(self.k + 1, round(decomposed_width / self.width_ratio))
        require(
            width < decomposed_width,
            "width_ratio",
            f"a ratio that leaves fewer meta-latents than the {decomposed_width} latents",
            self.width_ratio,
        )
        return width

    def settings(self, decomposed_width: int) -> MetaSettings:
        return MetaSettings(
            self.meta_width(decomposed_width),
            self.k,
            self.lr,
            self.batch_size,
            self.epochs,
            self.seed,
        )

    def extra_jobs(
        self, family_params: batchtopk.BatchTopKParams, train_dir: str | Path, root: str | Path
    ) -> list[CachedSAEJob]:
        """The ordinary BatchTopK SAEs of ``extra_widths``, as the family's were trained."""
        specs = [
            batchtopk.SAESpec(batchtopk.FAMILY_ARCHITECTURE, width, family_params.k, self.seed)
            for width in self.extra_widths
        ]
        return [family_params.job(s, train_dir, str(Path(root) / s.name)) for s in specs]


def load(tier: str | None = None, params_file: str = "params.yaml") -> MetaSAEParams:
    return load_params(SECTION, MetaSAEParams, tier, params_file)
