import numpy as np
import pytest
from saerepro.core.checks import ParamError
from saerepro.evals.intervals import (
    Interval,
    bootstrap,
    explained_variance_gap,
    over_seeds,
    paired_difference,
    union,
)


def test_bootstrap_covers_the_mean_and_shrinks_with_more_samples():
    rng = np.random.default_rng(0)
    small = bootstrap(rng.normal(1.0, 1.0, 100), seed=1)
    large = bootstrap(rng.normal(1.0, 1.0, 10_000), seed=1)
    assert small.low < 1.0 < small.high and large.low < 1.0 < large.high
    assert large.high - large.low < 0.2 * (small.high - small.low)
    # about 1.96 * 2 / sqrt(10000) wide
    assert 0.03 < large.high - large.low < 0.05
    assert "10,000 examples" in large.method


def test_bootstrap_is_deterministic_and_takes_any_statistic():
    values = np.arange(50.0)
    assert bootstrap(values, seed=3) == bootstrap(values, seed=3)
    median = bootstrap(values, np.median, resamples=200, seed=0)
    assert median.low <= 24.5 <= median.high


def test_paired_difference_sees_a_shift_the_spread_would_hide():
    rng = np.random.default_rng(0)
    base = rng.normal(0, 5, 2000)
    shifted = base + 0.1 + rng.normal(0, 0.01, 2000)
    interval = paired_difference(shifted, base)
    assert 0.09 < interval.low < interval.high < 0.11
    with pytest.raises(ParamError, match="b"):
        paired_difference(base, base[:10])


def test_seed_range_and_bad_inputs():
    assert over_seeds([0.3, 0.1, 0.2]) == Interval(0.1, 0.3, 1.0, "range over 3 seeds")
    with pytest.raises(ParamError, match="two or more seeds"):
        over_seeds([0.1])
    with pytest.raises(ParamError, match="level"):
        bootstrap([1.0, 2.0], level=1.5)
    with pytest.raises(ParamError, match="at least 2 rows"):
        bootstrap([1.0])
    with pytest.raises(ParamError, match="low <= high"):
        Interval(1.0, 0.0, 0.95, "x")


def test_explained_variance_gap_matches_the_direct_computation():
    rng = np.random.default_rng(0)
    total = rng.uniform(90, 110, 200)
    sse_a, sse_b = 0.2 * total, 0.3 * total + rng.normal(0, 1, 200)
    gap = explained_variance_gap(sse_a, sse_b, total)
    direct = (1 - sse_a.sum() / total.sum()) - (1 - sse_b.sum() / total.sum())
    assert gap.low < direct < gap.high and gap.low > 0.09
    # over 2x: EV_a - 2 EV_b = 0.8 - 1.4 < 0
    assert explained_variance_gap(sse_a, sse_b, total, factor=2.0).high < 0


def test_union_spans_every_seed():
    a, b = Interval(0.1, 0.2, 0.95, "boot"), Interval(0.15, 0.4, 0.95, "boot")
    both = union([a, b])
    assert (both.low, both.high) == (0.1, 0.4) and "union over 2 seeds" in both.method
    assert union([a]) == a
