"""The claims ledger: each quantitative claim of a paper, the paper's value, ours, and a verdict.

``holds`` is always computed by code from the measured value; the ledger only refuses anything
that is not a boolean (or None, for a claim that cannot be decided at this tier).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from saerepro.core.atomic import atomic_write_json

PAPERS = {
    "SBW": "Sparse but Wrong",
    "CU": "SAEs Do Not Find Canonical Units",
    "BIM": "Bimodality of SAE Features ... Can Be Fixed",
    "LEC": "SAE lecture (TopK and scaling)",
}


@dataclass(frozen=True)
class Claim:
    """One row of the ledger (schema: DESIGN.md §6)."""

    id: str
    paper: str
    section: str
    statement: str
    paper_value: Any
    measured: Any
    holds: bool | None
    tier: str
    note: str = ""

    @property
    def verdict(self) -> str:
        return {True: "holds", False: "does not hold", None: "undecided"}[self.holds]


def _plain(value: Any) -> Any:
    """JSON-friendly numbers: numpy / torch scalars become Python floats, rounded for reading."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float):
        return value if math.isnan(value) else round(value, 6)
    return value


class ClaimsLedger:
    """The claims of one section at one tier, written to ``claims.json``."""

    def __init__(self, tier: str) -> None:
        self.tier = tier
        self.claims: list[Claim] = []

    def add(
        self,
        id: str,
        paper: str,
        section: str,
        statement: str,
        paper_value: Any,
        measured: Any,
        holds: Any,
        note: str = "",
    ) -> Claim:
        """Record a claim; ``holds`` must come from a computation on ``measured``."""
        if paper not in PAPERS:
            raise ValueError(f"paper={paper!r} is not allowed: one of {', '.join(PAPERS)}")
        if any(c.id == id for c in self.claims):
            raise ValueError(f"claim id {id!r} is already in the ledger")
        if hasattr(holds, "item"):
            holds = holds.item()
        if holds is not None and not isinstance(holds, bool):
            raise TypeError(f"holds must be a bool computed from the measurement, got {holds!r}")
        claim = Claim(
            id,
            paper,
            section,
            statement,
            _plain(paper_value),
            _plain(measured),
            holds,
            self.tier,
            note,
        )
        self.claims.append(claim)
        return claim

    def write(self, path: str | Path) -> Path:
        return atomic_write_json(path, [asdict(c) for c in self.claims])

    def rows(self) -> list[dict[str, Any]]:
        """For display: one dict a claim."""
        return [
            {
                "id": c.id,
                "statement": c.statement,
                "paper": format_value(c.paper_value),
                "measured": format_value(c.measured),
                "verdict": c.verdict,
            }
            for c in self.claims
        ]


def read_claims(path: str | Path) -> list[Claim]:
    """Claims from a ``claims.json`` file."""
    return [Claim(**row) for row in json.loads(Path(path).read_text())]


def format_value(value: Any) -> str:
    """A short human form: 3 significant digits, mappings as ``key value`` pairs."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # nan, inf: a measurement that is undefined, shown as such
    if isinstance(value, float):
        short = f"{value:.3g}"
        # never let rounding pass a near-integer off as one (0.999997 is not 1)
        return (
            short
            if float(short) != round(float(short)) or value == round(value)
            else (f"{value:.6g}")
        )
    if isinstance(value, Mapping):
        return ", ".join(f"{k.replace('_', ' ')} {format_value(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)
