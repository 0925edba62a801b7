import pandas as pd
import pytest
from saerepro.core.checks import ParamError
from saerepro.evals.comparisons import paired_gaps, settled_value, swap_effects
from saerepro.evals.stitching import PathStep, SwapGroup


def test_paired_gaps_cover_only_configurations_both_trained():
    winner = pd.DataFrame({"d_sae": [64, 128, 64], "k": [8, 8, 16], "nmse": [0.1, 0.08, 0.05]})
    loser = pd.DataFrame({"d_sae": [64, 128], "k": [8, 8], "nmse": [0.15, 0.07]})
    gaps = paired_gaps(winner, loser, "nmse")
    assert gaps == pytest.approx({"w64_k8": 0.05, "w128_k8": -0.01})


def test_settled_value_is_the_mean_of_the_last_fraction():
    assert settled_value([10, 8, 6, 4, 2, 2, 2, 2, 2, 3], 0.2) == 2.5
    assert settled_value([5.0], 0.1) == 5.0  # at least the last point
    with pytest.raises(ParamError, match="settle_fraction"):
        settled_value([1.0], 0.0)


def test_swap_effects_measure_each_swap_against_the_step_before():
    steps = [
        PathStep("start", 4, 0, 2.0, 10.0),
        PathStep("add novel", 4, 1, 1.5, 11.0),
        PathStep("swap group", 3, 2, 1.2, 10.0),
        PathStep("swap group", 1, 3, 1.8, 12.0),
    ]
    groups = [SwapGroup((0,), (1, 2)), SwapGroup((1, 2), (3,))]
    effects = swap_effects(steps, groups)
    assert [e["n_small"] for e in effects] == [1, 2]
    assert effects[0]["mse_change_pct"] == pytest.approx(-20.0)
    assert effects[1]["l0_change_pct"] == pytest.approx(20.0)
    with pytest.raises(ParamError, match="groups"):
        swap_effects(steps, groups[:1])


def test_a_minimum_band_holds_every_point_within_noise_of_the_minimum():
    from saerepro.evals.comparisons import minimum_band, split_half_noise

    curve = pd.Series([5.0, 2.0, 2.05, 2.5, 4.0], index=[9, 10, 11, 12, 13])
    assert minimum_band(curve, 0.0) == [10.0]
    assert minimum_band(curve, 0.05) == [10.0, 11.0]
    assert minimum_band(curve, 0.3) == [10.0, 11.0, 12.0]
    assert split_half_noise([(1.0, 1.1), (2.0, 2.0)]) == pytest.approx(0.1 / 1.05)
    with pytest.raises(ParamError, match="relative_noise"):
        minimum_band(curve, -0.1)
