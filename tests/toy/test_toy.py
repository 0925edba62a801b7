import numpy as np
import pytest
import torch
from saerepro.core.checks import ParamError
from saerepro.toy.model import ToyModel, ToyModelConfig, firing_probabilities


def test_firing_probabilities_follow_the_formula():
    p = firing_probabilities(50, 0.05, 0.345)
    assert p[0] == pytest.approx(0.05 + 0.345 * 49 / 50)
    assert p[-1] == pytest.approx(0.05)
    assert torch.all(p[:-1] > p[1:])


def test_true_l0_is_the_sum_of_firing_probabilities(paper_toy):
    assert paper_toy.true_l0 == pytest.approx(float(paper_toy.firing_probabilities.sum()))
    assert paper_toy.true_l0 == pytest.approx(10.9525)


def test_features_are_orthonormal(paper_toy):
    gram = paper_toy.features @ paper_toy.features.T
    assert paper_toy.features.shape == (50, 100)
    assert torch.allclose(gram, torch.eye(50), atol=1e-5)


def test_correlation_matrix_is_a_positive_definite_correlation_matrix(paper_toy):
    c = paper_toy.correlation
    assert torch.allclose(c, c.T)
    assert torch.allclose(c.diagonal(), torch.ones(50, dtype=c.dtype))
    assert torch.linalg.eigvalsh(c).min() > 0
    off = c[~torch.eye(50, dtype=torch.bool)]
    assert 0.05 < off.abs().mean() < 0.5, "moderate correlations"


def test_inputs_are_the_sum_of_active_features(small_toy):
    sample = small_toy.sample(64, torch.Generator().manual_seed(0))
    assert torch.allclose(sample.inputs, sample.feature_acts @ small_toy.features, atol=1e-6)
    assert (sample.feature_acts >= 0).all()


def test_empirical_firing_rates_match_within_sampling_error(paper_toy):
    n = 200_000
    fires = (paper_toy.sample(n, torch.Generator().manual_seed(1)).feature_acts > 0).double()
    p = paper_toy.firing_probabilities
    standard_error = (p * (1 - p) / n).sqrt()
    assert ((fires.mean(0) - p).abs() < 5 * standard_error).all()
    assert fires.sum(1).mean() == pytest.approx(paper_toy.true_l0, abs=0.05)


def test_empirical_pairwise_correlations_match_the_copula(paper_toy):
    n = 200_000
    fires = (paper_toy.sample(n, torch.Generator().manual_seed(2)).feature_acts > 0).double()
    empirical = np.corrcoef(fires.numpy().T)
    pairs = [(0, 1), (0, 49), (3, 17), (10, 20), (25, 40), (30, 31), (2, 45), (7, 8)]
    expected = paper_toy.firing_correlation(pairs)
    got = np.array([empirical[i, j] for i, j in pairs])
    # the standard error of a sample correlation is about 1/sqrt(n) = 0.0022
    assert np.abs(got - expected).max() < 5 / np.sqrt(n)
    assert np.abs(expected).max() > 0.02, "the test needs pairs that are actually correlated"


def test_magnitudes_follow_the_clipped_normal(paper_toy):
    acts = paper_toy.sample(100_000, torch.Generator().manual_seed(4)).feature_acts
    active = acts[acts > 0]
    assert active.mean() == pytest.approx(1.0, abs=0.01)
    assert active.std() == pytest.approx(0.15, abs=0.01)


def test_same_seed_same_model_and_stream():
    a, b = ToyModel(ToyModelConfig(seed=7)), ToyModel(ToyModelConfig(seed=7))
    assert torch.equal(a.features, b.features) and torch.equal(a.correlation, b.correlation)
    assert torch.equal(next(a.batches(16, seed=5)), next(b.batches(16, seed=5)))
    assert not torch.equal(next(a.batches(16, seed=5)), next(a.batches(16, seed=6)))


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"n_features": 0}, "n_features"),
        ({"d_model": 10}, "d_model"),
        ({"firing_prob_min": 0.0}, "firing_prob_min"),
        ({"firing_prob_min": 1.5}, "firing_prob_min"),
        ({"firing_prob_span": 0.99}, "firing_prob_span"),
        ({"correlation_scale": 1.0}, "correlation_scale"),
        ({"magnitude_std": -0.1}, "magnitude_std"),
    ],
)
def test_bad_toy_config_names_the_parameter(kwargs, param):
    with pytest.raises(ParamError, match=param):
        ToyModelConfig(**kwargs)


def test_an_evaluation_keeps_what_the_intervals_resample(paper_toy):
    from saerepro.evals.intervals import explained_variance_gap
    from saerepro.toy.jobs import evaluate_toy_sae, ground_truth_sae

    sample = paper_toy.sample(5000, torch.Generator().manual_seed(0))
    low, exact = (
        evaluate_toy_sae(ground_truth_sae(paper_toy, k), paper_toy, sample, 1024, (12, 20))
        for k in (2, 25)
    )
    assert len(low.chunk_sse) == len(low.chunk_total_variance) == 5  # 4 full chunks and a rest
    total = sum(low.chunk_total_variance)
    assert 1 - sum(low.chunk_sse) / total == pytest.approx(low.explained_variance, abs=1e-5)
    assert len(exact.best_cosines) == 50 and min(exact.best_cosines) > 0.999
    for n, (first, second) in low.nth_projection_halves.items():
        assert first == pytest.approx(low.nth_projection[n], rel=0.2)
        assert second == pytest.approx(low.nth_projection[n], rel=0.2)
    gap = explained_variance_gap(
        exact.chunk_sse, low.chunk_sse, low.chunk_total_variance, resamples=200
    )
    assert gap.low > 0, "at k = 25 the exact SAE explains more than at k = 2"


def test_fig6_gets_more_seeds_either_side_of_the_true_l0():
    from saerepro.core.params import load_params
    from saerepro.sections.toy_l0 import SECTION, ToyL0Params

    params = load_params(SECTION, ToyL0Params, tier="cpu")
    assert params.neighbour_ks == (10, 11)
    jobs = params.neighbour_jobs("ckpt")
    assert {(j.k, j.seed) for j in jobs} == {(10, 1), (11, 1), (10, 2), (11, 2)}
    assert all(j.settings == params.sweep_jobs("ckpt")[0].settings for j in jobs)
    assert not {j.checkpoint for j in jobs} & {j.checkpoint for j in params.sweep_jobs("ckpt")}
