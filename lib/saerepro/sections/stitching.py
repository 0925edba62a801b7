"""Section "SAE stitching" (Canonical Units §4, A.4, A.5, A.7): parameters and the SAE pairs.

The pairs come from the SAE family (:mod:`saerepro.training.family`): every adjacent pair of the
doubling-width series, and the two seeds of one width. The algorithms are in
:mod:`saerepro.evals.stitching`.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from saerepro.core.checks import require
from saerepro.core.params import load_params
from saerepro.training.family import FamilyMember, SAEFamily

SECTION = "stitching"


@dataclass(frozen=True)
class StitchingParams:
    """``params.yaml: stitching.<tier>``."""

    eval_tokens: int  # held-out tokens every SAE is encoded on
    paper_threshold: float  # the paper's θ for GPT-2 (0.7), reported beside ours
    threshold_pair: int  # the adjacent pair (0 = narrowest) whose ROC picks θ
    end_tolerance: float  # the path's end MSE counts as the larger SAE's within this fraction
    majority: float  # "mostly": the share of latents that must go the claimed way
    seed: int  # order in which novel latents are added
    examples: int  # group swaps shown with their latents' contexts
    contexts: int  # top-activating contexts per latent

    def __post_init__(self) -> None:
        require(self.eval_tokens >= 2, "eval_tokens", "an integer >= 2", self.eval_tokens)
        require(
            -1 <= self.paper_threshold <= 1,
            "paper_threshold",
            "a cosine in [-1, 1]",
            self.paper_threshold,
        )
        require(self.threshold_pair >= 0, "threshold_pair", "an index >= 0", self.threshold_pair)
        require(0 < self.end_tolerance < 1, "end_tolerance", "in (0, 1)", self.end_tolerance)
        require(0.5 <= self.majority < 1, "majority", "in [0.5, 1)", self.majority)
        for name in ("examples", "contexts"):
            require(getattr(self, name) >= 1, name, "an integer >= 1", getattr(self, name))


def roc_pair(
    params: StitchingParams, pairs: list[tuple[FamilyMember, FamilyMember]]
) -> tuple[FamilyMember, FamilyMember]:
    """The adjacent pair whose ROC picks θ (``threshold_pair``), refused when out of range."""
    require(
        params.threshold_pair < len(pairs),
        "threshold_pair",
        f"an index in 0..{len(pairs) - 1} (the family has {len(pairs)} adjacent pairs)",
        params.threshold_pair,
    )
    return pairs[params.threshold_pair]


def width_pairs(family: SAEFamily) -> list[tuple[FamilyMember, FamilyMember]]:
    """(smaller, larger) for every adjacent pair of the base seed's width series."""
    series = family.widths(min(m.seed for m in family.members))
    require(len(series) >= 2, "family", "at least two widths", [m.name for m in series])
    return list(pairwise(series))


def seed_pair(family: SAEFamily) -> tuple[FamilyMember, FamilyMember]:
    """The first two seeds of the narrowest width trained with more than one."""
    widths = sorted({m.d_sae for m in family.members if len(family.seeds_of_width(m.d_sae)) > 1})
    require(bool(widths), "family", "a width trained with two seeds", [])
    first, second = family.seeds_of_width(widths[0])[:2]
    return first, second


def load(tier: str | None = None, params_file: str = "params.yaml") -> StitchingParams:
    return load_params(SECTION, StitchingParams, tier, params_file)
