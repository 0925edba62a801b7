"""How a claim is decided: a criterion fixed before the run, the preconditions it stands on, the
interval of its statistic and its trend over training budgets (DESIGN.md §9, docs/claims.md).

A verdict is ``True`` (holds), ``False`` (does not hold) or ``None`` (inconclusive, with a reason).
It is ``None`` whenever a precondition failed, the interval straddles the criterion, or the
verdict at half budget differs from the one at full budget.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from saerepro.core.checks import require
from saerepro.evals.intervals import Interval

Verdict = bool | None


@dataclass(frozen=True)
class Precondition:
    """A fact a claim stands on, measured: its ``value`` and whether it ``passed`` ``rule``."""

    name: str
    value: Any
    passed: bool
    rule: str

    def __post_init__(self) -> None:
        if not isinstance(self.passed, bool):
            raise TypeError(
                f"precondition {self.name!r}: passed must be a bool, got {self.passed!r}"
            )
        require(bool(self.rule), "rule", "a one-line statement of the condition", self.rule)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "passed": self.passed, "rule": self.rule}


def at_least(name: str, value: float, minimum: float, why: str) -> Precondition:
    """``value >= minimum``."""
    return Precondition(name, value, bool(value >= minimum), f">= {minimum:g}: {why}")


Op = Literal["above", "below", "within"]
_SYMBOL = {"above": ">", "below": "<"}


@dataclass(frozen=True)
class Criterion:
    """What the claim's statistic must satisfy, fixed in code before the run, with a one-line
    justification (the paper's number, or why the tolerance is what it is)."""

    op: Op
    threshold: float | tuple[float, float]
    why: str

    def __post_init__(self) -> None:
        require(self.op in ("above", "below", "within"), "op", "above, below or within", self.op)
        if self.op == "within":
            low, high = self.threshold  # type: ignore[misc]
            require(low <= high, "threshold", "(low, high) with low <= high", self.threshold)
        require(bool(self.why), "why", "a one-line justification of the threshold", self.why)

    def satisfied(self, value: float) -> bool:
        if self.op == "above":
            return bool(value > self.threshold)
        if self.op == "below":
            return bool(value < self.threshold)
        low, high = self.threshold  # type: ignore[misc]
        return bool(low <= value <= high)

    def describe(self) -> str:
        if self.op == "within":
            low, high = self.threshold  # type: ignore[misc]
            return f"in [{low:g}, {high:g}] ({self.why})"
        return f"{_SYMBOL[self.op]} {self.threshold:g} ({self.why})"

    def judge(self, value: float, interval: Interval | None = None) -> tuple[Verdict, str]:
        """The verdict on ``value``; with an interval, ``True`` only if all of it satisfies the
        criterion, ``False`` only if none of it does (for ``within``: it misses the band), else
        inconclusive."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None, "the statistic is undefined (nan) at this tier"
        if interval is None:
            return self.satisfied(value), ""
        ends = (interval.low, interval.high)
        if all(self.satisfied(v) for v in ends):
            return True, ""
        if self.op == "within":
            low, high = self.threshold  # type: ignore[misc]
            misses = interval.high < low or interval.low > high
        else:
            misses = not any(self.satisfied(v) for v in ends)
        if misses:
            return False, ""
        return None, (
            f"the interval [{interval.low:.4g}, {interval.high:.4g}] ({interval.method}) "
            f"straddles the criterion {self.describe()}"
        )


BUDGETS = ("quarter", "half", "full")


@dataclass(frozen=True)
class Trend:
    """A claim's statistic and verdict on the SAEs saved at a quarter, half and full budget."""

    values: Mapping[str, Any]
    verdicts: Mapping[str, Verdict] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in (*self.values, *self.verdicts):
            require(name in BUDGETS, "trend budget", f"one of {', '.join(BUDGETS)}", name)

    def stability_reason(self) -> str:
        """Why the verdict is not stable under doubling, or '' when it is (or cannot be told)."""
        half, full = self.verdicts.get("half"), self.verdicts.get("full")
        if "half" in self.verdicts and "full" in self.verdicts and half != full:
            return (
                f"not yet stable under doubling: {verdict_word(half)} at half budget, "
                f"{verdict_word(full)} at full budget"
            )
        return ""

    def as_dict(self) -> dict[str, Any]:
        return {"values": dict(self.values), "verdicts": dict(self.verdicts)}


def verdict_word(holds: Verdict) -> str:
    return {True: "holds", False: "does not hold", None: "inconclusive"}[holds]


def failed_preconditions(preconditions: Sequence[Precondition]) -> list[Precondition]:
    return [p for p in preconditions if not p.passed]


def decide(
    point: Verdict,
    reason: str = "",
    preconditions: Sequence[Precondition] = (),
    trend: Trend | None = None,
) -> tuple[Verdict, str]:
    """The final verdict from a point verdict (and its reason when it is inconclusive): failed
    preconditions come first, then stability under doubling."""
    failed = failed_preconditions(preconditions)
    if failed:
        return None, "precondition failed: " + "; ".join(
            f"{p.name} = {_short(p.value)} (needs {p.rule})" for p in failed
        )
    stability = trend.stability_reason() if trend is not None else ""
    if stability:
        return None, stability
    return point, reason


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def all_hold(parts: Mapping[str, tuple[Verdict, str]]) -> tuple[Verdict, str]:
    """A claim made of parts that must all hold: does not hold if any part does not, is
    inconclusive if any part is (and none fails), holds if every part holds."""
    require(len(parts) > 0, "parts", "at least one part", len(parts))
    if any(v is False for v, _ in parts.values()):
        return False, ""
    open_parts = {name: why for name, (v, why) in parts.items() if v is None}
    if open_parts:
        return None, "; ".join(f"{name}: {why}" for name, why in open_parts.items())
    return True, ""


def band_within(band: Sequence[float], low: float, high: float, what: str) -> tuple[Verdict, str]:
    """Where a minimum lies, judged as a band (every x whose value is within noise of the
    minimum): holds if the band lies in ``[low, high]``, does not hold if it misses it entirely,
    inconclusive if it reaches outside (the curve is too flat to place the minimum)."""
    require(len(band) > 0, "band", "at least one point", band)
    if all(low <= x <= high for x in band):
        return True, ""
    if not any(low <= x <= high for x in band):
        return False, ""
    return None, (
        f"{what} is within noise of its minimum at {', '.join(f'{x:g}' for x in band)}, "
        f"wider than [{low:g}, {high:g}]"
    )
