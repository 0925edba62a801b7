"""Did an L0 finder settle? Its working L0 over the last part of training, against a target."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from saerepro.core.checks import require


@dataclass(frozen=True)
class Settling:
    """One finder run over the last ``fraction`` of its training: the cycles that ended there,
    the mean working L0 (the settled L0) and the largest distance of any of them from the
    target."""

    cycles: int
    settled_l0: float
    worst_distance: float

    def within(self, tolerance: float) -> bool:
        """Whether every late cycle ran within ``tolerance`` of the target."""
        return self.worst_distance <= tolerance


def settling(history: pd.DataFrame, target: float, total_steps: int, fraction: float) -> Settling:
    """Summarise one run's ``history`` (a row per cycle with its end ``step`` and working
    ``l0``) over the cycles that ended in the last ``fraction`` of ``total_steps``."""
    require(0 < fraction <= 1, "fraction", "in (0, 1]", fraction)
    require(total_steps >= 1, "total_steps", "an integer >= 1", total_steps)
    late = history[history.step >= (1 - fraction) * total_steps]
    require(
        len(late) >= 1,
        "history",
        f"at least one cycle ending in the last {fraction:.0%} of {total_steps} steps",
        len(late),
    )
    return Settling(
        cycles=len(late),
        settled_l0=float(late.l0.mean()),
        worst_distance=float((late.l0 - target).abs().max()),
    )
