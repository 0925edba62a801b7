"""Penalty-based SAEs (ReLU / L1, JumpReLU / L0) trained as their papers train them: one fixed
sparsity coefficient, reached through a linear warm-up, with no controller and no gate
calibration. The coefficient that lands near a target L0 comes from a short calibration sweep:
a few runs over a geometric grid of coefficients, whose held-out L0s are interpolated in
log-log space (L0 falls smoothly with the coefficient), and the sweep is recorded beside the
results that use it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from saerepro.core.checks import require
from saerepro.training.sparsity_control import penalty_name


@dataclass(frozen=True)
class FixedPenalty:
    """A coefficient held fixed after a linear warm-up over ``warmup_fraction`` of the steps
    (SAELens's ``l1_warm_up_steps`` / ``l0_warm_up_steps``)."""

    coefficient: float
    warmup_fraction: float = 0.05

    def __post_init__(self) -> None:
        require(
            math.isfinite(self.coefficient) and self.coefficient > 0,
            "coefficient",
            "a finite number > 0",
            self.coefficient,
        )
        require(0 <= self.warmup_fraction < 1, "warmup_fraction", "in [0, 1)", self.warmup_fraction)

    def sae_cfg(self, architecture: str, steps: int) -> dict[str, float | int]:
        """The SAELens config fields that set this penalty on ``architecture``."""
        name = penalty_name(architecture)
        return {
            f"{name}_coefficient": self.coefficient,
            f"{name}_warm_up_steps": int(self.warmup_fraction * steps),
        }


def coefficient_grid(low: float, high: float, n: int) -> list[float]:
    """``n`` coefficients spaced geometrically from ``low`` to ``high``."""
    require(0 < low < high, "low, high", "0 < low < high", (low, high))
    require(n >= 2, "n", "an integer >= 2", n)
    return [float(v) for v in np.geomspace(low, high, n)]


def coefficient_for_l0(coefficients: Sequence[float], l0s: Sequence[float], target: float) -> float:
    """The coefficient that gives ``target`` L0, interpolated in log-log space between the two
    calibration runs that bracket it. Refuses a target outside the sweep's L0 range (extend the
    grid rather than extrapolate), or a sweep whose L0 does not fall as the coefficient grows."""
    require(len(coefficients) == len(l0s) >= 2, "l0s", "one per coefficient, two or more", l0s)
    order = np.argsort(coefficients)
    log_c = np.log(np.asarray(coefficients, dtype=float)[order])
    sorted_l0 = np.maximum(np.asarray(l0s, dtype=float)[order], 1e-6)
    log_l0 = np.log(sorted_l0)
    require(
        bool(np.all(np.diff(log_l0) < 0)),
        "l0s",
        "falling as the coefficient grows (a calibration sweep that is not monotone is too "
        "short or too noisy to read)",
        [float(v) for v in sorted_l0],
    )
    low, high = float(sorted_l0[-1]), float(sorted_l0[0])
    require(
        low <= target <= high,
        "target_l0",
        f"within the calibration sweep's L0 range [{low:.3g}, {high:.3g}]",
        target,
    )
    # np.interp needs increasing x: interpolate log c against -log L0
    return float(np.exp(np.interp(-math.log(target), -log_l0, log_c)))
