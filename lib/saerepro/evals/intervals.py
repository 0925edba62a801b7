"""Uncertainty of a verdict's statistic: percentile bootstrap over examples, and the spread over
seeds. Every interval is deterministic given its seed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from saerepro.core.checks import require

DEFAULT_RESAMPLES = 2000
DEFAULT_LEVEL = 0.95  # the usual two-sided 95 % interval


@dataclass(frozen=True)
class Interval:
    """``[low, high]`` at confidence ``level``, and how it was obtained."""

    low: float
    high: float
    level: float
    method: str

    def __post_init__(self) -> None:
        require(
            self.low <= self.high or np.isnan(self.low) or np.isnan(self.high),
            "interval",
            "low <= high",
            (self.low, self.high),
        )

    def as_dict(self) -> dict[str, float | str]:
        return {
            "low": float(self.low),
            "high": float(self.high),
            "level": self.level,
            "method": self.method,
        }


def _check_level(level: float) -> None:
    require(0 < level < 1, "level", "in (0, 1)", level)


def bootstrap(
    samples: Sequence[float] | np.ndarray,
    statistic: Callable[[np.ndarray], float] = np.mean,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    level: float = DEFAULT_LEVEL,
    seed: int = 0,
    unit: str = "examples",
) -> Interval:
    """Percentile bootstrap of ``statistic`` over the rows of ``samples`` (resampled with
    replacement, ``resamples`` times). ``unit`` names what a row is, for the record."""
    values = np.asarray(samples, dtype=float)
    require(values.ndim >= 1 and len(values) >= 2, "samples", "at least 2 rows", values.shape)
    require(resamples >= 100, "resamples", "at least 100", resamples)
    _check_level(level)
    rng = np.random.default_rng(seed)
    index = rng.integers(0, len(values), size=(resamples, len(values)))
    if statistic is np.mean:  # vectorised: the common case, over 100k tokens
        stats = values[index].mean(axis=1)
    else:
        stats = np.array([statistic(values[i]) for i in index])
    tail = (1 - level) / 2
    low, high = np.quantile(stats, [tail, 1 - tail], axis=0)
    return Interval(
        float(low),
        float(high),
        level,
        f"bootstrap over {len(values):,} {unit} ({resamples} resamples)",
    )


def paired_difference(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    **bootstrap_kwargs,
) -> Interval:
    """Bootstrap interval of ``mean(a - b)`` over paired rows (the same token or example
    scored two ways)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    require(a.shape == b.shape, "b", f"the shape of a {a.shape}", b.shape)
    return bootstrap(a - b, **bootstrap_kwargs)


def over_seeds(values: Sequence[float]) -> Interval:
    """The range of a statistic over seeds: with two to five seeds a percentile interval is not
    estimable, and the range is the honest summary of what another seed may give."""
    values = [float(v) for v in values]
    require(len(values) >= 2, "values", "two or more seeds", len(values))
    return Interval(min(values), max(values), 1.0, f"range over {len(values)} seeds")


def explained_variance_gap(
    sse_a: Sequence[float],
    sse_b: Sequence[float],
    total_variance: Sequence[float],
    factor: float = 1.0,
    **bootstrap_kwargs,
) -> Interval:
    """Bootstrap interval of ``EV_a - factor * EV_b`` over paired units (chunks or tokens), where
    ``EV = 1 - sum(sse) / sum(total_variance)`` over the resampled units: two SAEs scored on the
    same inputs."""
    rows = np.stack([np.asarray(v, dtype=float) for v in (sse_a, sse_b, total_variance)], axis=1)

    def gap(sample: np.ndarray) -> float:
        total = sample[:, 2].sum()
        return float((1 - sample[:, 0].sum() / total) - factor * (1 - sample[:, 1].sum() / total))

    return bootstrap(rows, gap, **bootstrap_kwargs)


def union(intervals: Sequence[Interval]) -> Interval:
    """The smallest interval holding all of ``intervals``: one statistic's intervals over seeds
    read together (the conservative way to combine bootstrap and seed noise)."""
    require(len(intervals) > 0, "intervals", "at least one", len(intervals))
    if len(intervals) == 1:
        return intervals[0]
    return Interval(
        min(i.low for i in intervals),
        max(i.high for i in intervals),
        min(i.level for i in intervals),
        f"{intervals[0].method}, per seed, union over {len(intervals)} seeds",
    )
