"""Small statistics the sections' verdicts are decided by: paired gaps between two architectures,
the settled value of a trajectory, the effect of each group swap along a stitching path."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from saerepro.core.checks import require
from saerepro.evals.stitching import PathStep, SwapGroup


def paired_gaps(
    winner: pd.DataFrame, loser: pd.DataFrame, metric: str, keys: Sequence[str] = ("d_sae", "k")
) -> dict[str, float]:
    """``metric(loser) - metric(winner)`` for every (width, k) both were trained at, keyed
    ``w<d_sae>_k<k>``: a gap > 0 is a configuration the winner wins."""
    a = winner.set_index(list(keys))[metric]
    b = loser.set_index(list(keys))[metric]
    common = a.index.intersection(b.index)
    return {f"w{d}_k{k}": float(b[(d, k)] - a[(d, k)]) for d, k in common}


def settled_value(trajectory: Sequence[float] | pd.Series, fraction: float) -> float:
    """The mean of the last ``fraction`` of ``trajectory`` (at least its last point): where a
    quantity that moves during training ends up."""
    require(0 < fraction <= 1, "settle_fraction", "in (0, 1]", fraction)
    values = pd.Series(trajectory, dtype=float)
    require(len(values) > 0, "trajectory", "at least one point", len(values))
    return float(values.tail(max(1, round(len(values) * fraction))).mean())


def swap_effects(steps: Sequence[PathStep], groups: Sequence[SwapGroup]) -> list[dict[str, float]]:
    """For each group swap along an interpolation path (its ``swap group`` steps, in the order of
    ``groups``): the group's size on each side and the relative MSE and L0 change it caused,
    in per cent."""
    swap_at = [i for i, step in enumerate(steps) if step.phase == "swap group"]
    require(
        len(swap_at) == len(groups),
        "groups",
        f"one group per swap step of the path ({len(swap_at)})",
        len(groups),
    )
    effects = []
    for i, group in zip(swap_at, groups, strict=True):
        before, after = steps[i - 1], steps[i]
        effects.append(
            {
                "n_small": len(group.small),
                "n_large": len(group.large),
                "mse_change_pct": 100 * (after.mse - before.mse) / before.mse,
                "l0_change_pct": 100 * (after.l0 - before.l0) / before.l0,
            }
        )
    return effects


def split_half_noise(halves: Sequence[tuple[float, float]]) -> float:
    """The largest relative disagreement of a statistic between two halves of its sample,
    ``|a - b| / mean(a, b)``, over a curve's points: how far apart two points must be before
    the curve's shape is more than sampling noise."""
    require(len(halves) > 0, "halves", "at least one pair", len(halves))
    return max(abs(a - b) / max(abs(a + b) / 2, 1e-12) for a, b in halves)


def minimum_band(curve: pd.Series, relative_noise: float) -> list[float]:
    """Every index of ``curve`` whose value is within ``relative_noise`` of the curve's minimum
    (the minimum read as a tolerance band, not a single argmin)."""
    require(relative_noise >= 0, "relative_noise", ">= 0", relative_noise)
    require(len(curve) > 0, "curve", "at least one point", len(curve))
    lowest = float(curve.min())
    return [float(i) for i, v in curve.items() if v <= lowest + relative_noise * abs(lowest)]
