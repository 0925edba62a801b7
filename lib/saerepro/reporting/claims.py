"""The claims ledger: each quantitative claim of a paper, the paper's value, ours, and a verdict.

``holds`` is computed by code: from a :class:`~saerepro.reporting.verdicts.Criterion` judged on
the measured statistic and its interval, or given as a boolean the caller computed; either way
the ledger makes it inconclusive (``None``, with a reason) when a precondition failed or the
verdict is not stable under doubling. The schema is in ``docs/claims.md``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from saerepro.core.atomic import atomic_write_json
from saerepro.evals.intervals import Interval
from saerepro.reporting.verdicts import (
    Criterion,
    Precondition,
    Trend,
    Verdict,
    decide,
    verdict_word,
)

PAPERS = {
    "SBW": "Sparse but Wrong",
    "CU": "SAEs Do Not Find Canonical Units",
    "BIM": "Bimodality of SAE Features ... Can Be Fixed",
    "LEC": "SAE lecture (TopK and scaling)",
}
KINDS = ("claim", "check")  # a check holds by construction: shown, not counted as replication


@dataclass(frozen=True)
class Claim:
    """One row of the ledger (schema: docs/claims.md)."""

    id: str
    paper: str
    section: str
    statement: str
    paper_value: Any
    measured: Any
    holds: Verdict
    tier: str
    note: str = ""
    kind: str = "claim"
    criterion: str = ""
    interval: dict[str, Any] | None = None
    trend: dict[str, Any] | None = None
    preconditions: list[dict[str, Any]] = field(default_factory=list)
    reason: str = ""

    @property
    def verdict(self) -> str:
        """holds / does not hold / inconclusive."""
        return verdict_word(self.holds)


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


_UNSET: Any = object()


def _as_verdict(holds: Any) -> Verdict:
    if hasattr(holds, "item"):
        holds = holds.item()
    if holds is not None and not isinstance(holds, bool):
        raise TypeError(f"holds must be a bool computed from the measurement, got {holds!r}")
    return holds


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
        holds: Any = _UNSET,
        note: str = "",
        *,
        criterion: Criterion | None = None,
        value: float | None = None,
        interval: Interval | None = None,
        preconditions: Sequence[Precondition] = (),
        trend: Trend | None = None,
        kind: str = "claim",
        reason: str = "",
    ) -> Claim:
        """Record a claim. Either ``criterion`` decides it on ``value`` (default: ``measured``)
        and ``interval``, or ``holds`` is a bool the caller computed from ``measured`` (or None,
        with a ``reason``). Failed ``preconditions`` and an unstable ``trend`` make it
        inconclusive whatever the test said."""
        if paper not in PAPERS:
            raise ValueError(f"paper={paper!r} is not allowed: one of {', '.join(PAPERS)}")
        if kind not in KINDS:
            raise ValueError(f"kind={kind!r} is not allowed: one of {', '.join(KINDS)}")
        if any(c.id == id for c in self.claims):
            raise ValueError(f"claim id {id!r} is already in the ledger")
        if criterion is not None:
            if holds is not _UNSET:
                raise ValueError(f"claim {id!r}: give a criterion or holds, not both")
            point, why = criterion.judge(measured if value is None else value, interval)
        elif holds is _UNSET:
            raise ValueError(f"claim {id!r}: a criterion or a computed holds is required")
        else:
            point = _as_verdict(holds)
            why = reason if point is None else ""  # a reason explains only an inconclusive one
        if point is None and not why:
            raise ValueError(f"claim {id!r} is inconclusive: give the reason")
        final, why = decide(point, why, preconditions, trend)
        claim = Claim(
            id=id,
            paper=paper,
            section=section,
            statement=statement,
            paper_value=_plain(paper_value),
            measured=_plain(measured),
            holds=final,
            tier=self.tier,
            note=note,
            kind=kind,
            criterion=criterion.describe() if criterion is not None else "",
            interval=_plain(interval.as_dict()) if interval is not None else None,
            trend=_plain(trend.as_dict()) if trend is not None else None,
            preconditions=[_plain(p.as_dict()) for p in preconditions],
            reason=why,
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
                "kind": c.kind,
                "statement": c.statement,
                "paper": format_value(c.paper_value),
                "measured": format_value(c.measured),
                "interval": format_interval(c.interval),
                "verdict": c.verdict,
                "reason": c.reason,
            }
            for c in self.claims
        ]


_FIELDS = {f.name for f in fields(Claim)}


def read_claims(path: str | Path) -> list[Claim]:
    """Claims from a ``claims.json`` file (rows written before the schema had kinds,
    intervals and preconditions read with those empty)."""
    rows = json.loads(Path(path).read_text())
    for row in rows:
        unknown = set(row) - _FIELDS
        if unknown:
            raise ValueError(
                f"{path}: claim {row.get('id')!r} has unknown fields {sorted(unknown)}"
            )
    return [Claim(**row) for row in rows]


def format_interval(interval: Mapping[str, Any] | None) -> str:
    """``[low, high]`` in the short number form, or '' when there is none."""
    if not interval:
        return ""
    return f"[{format_value(interval['low'])}, {format_value(interval['high'])}]"


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
