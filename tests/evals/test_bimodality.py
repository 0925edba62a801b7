"""Bimodality statistics, alignment scores, firing frequencies and the bimodality section."""

import math

import pytest
import torch
from saerepro.core.checks import ParamError
from saerepro.evals.bimodality import (
    UNIFORM_BC,
    alignment_scores,
    bimodality_coefficient,
    gain_at_equal_l0,
    two_modes,
)
from saerepro.evals.heldout import firing_frequencies
from saerepro.sections import bimodality
from saerepro.training.trainer import make_training_sae


def _mixture(n_low, n_high, seed=0):
    gen = torch.Generator().manual_seed(seed)
    low = 0.05 * torch.randn(n_low, generator=gen)
    high = 1.0 + 0.1 * torch.randn(n_high, generator=gen)
    return torch.cat([low, high])


def test_bimodality_coefficient_separates_two_modes_from_one():
    assert bimodality_coefficient(_mixture(300, 700)) > UNIFORM_BC
    assert (
        bimodality_coefficient(torch.randn(1000, generator=torch.Generator().manual_seed(0)))
        < UNIFORM_BC
    )
    assert math.isnan(bimodality_coefficient([1.0, 1.0, 1.0, 1.0]))
    with pytest.raises(ParamError, match="scores"):
        bimodality_coefficient([1.0, 2.0])


def test_two_modes_finds_the_planted_modes_and_members():
    scores = _mixture(300, 700)
    modes = two_modes(scores)
    assert modes.means[0] == pytest.approx(0.0, abs=0.02)
    assert modes.good_mode == pytest.approx(1.0, abs=0.02)
    assert modes.weights[0] == pytest.approx(0.3, abs=0.02)
    assert modes.in_low[:300].all() and not modes.in_low[300:].any()
    assert modes.separation > 2


def test_gain_at_equal_l0_interpolates_in_log_l0_and_never_extrapolates():
    gains = gain_at_equal_l0([10, 100], [0.5, 0.7], [10, math.sqrt(1000), 1000], [0.6, 0.6, 0.9])
    assert gains[0] == pytest.approx(0.1)
    assert gains[1] == pytest.approx(0.0, abs=1e-12)  # halfway in log L0 between 10 and 100
    assert math.isnan(gains[2])
    with pytest.raises(ParamError, match="l0"):
        gain_at_equal_l0([0, 1], [0.1, 0.2], [1], [0.1])


def test_alignment_scores_follow_saelens_layouts():
    W_dec = torch.tensor([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    W_enc = torch.tensor([[1.0, 5.0], [3.0, 0.5], [7.0, 7.0]])
    assert alignment_scores(W_enc, W_dec).tolist() == [1.0, 1.0]
    with pytest.raises(ParamError, match="W_enc"):
        alignment_scores(W_enc.T, W_dec)


def test_firing_frequencies_count_the_rows_each_latent_fires_on():
    sae = make_training_sae("standard", seed=0, d_in=2, d_sae=2)
    with torch.no_grad():
        sae.W_enc.copy_(torch.eye(2))
        sae.b_enc.zero_()
        sae.b_dec.zero_()
    x = torch.tensor([[1.0, -1.0], [1.0, -1.0], [-1.0, -1.0], [2.0, -3.0]])
    assert firing_frequencies(sae, x, batch_size=3).tolist() == [0.75, 0.0]


def test_section_params_specs_and_jobs(tmp_path):
    params = bimodality.load("smoke")
    specs = params.specs()
    names = [s.name for s in specs]
    assert len(set(names)) == len(names) == 2 * (len(params.relu_l0s) + len(params.topk_ks))
    assert sum(s.is_aligned for s in specs) == len(specs) // 2
    relu = next(s for s in specs if s.architecture == "aligned_standard")
    job = params.job(relu, tmp_path / "acts", tmp_path)
    assert job.penalty is not None and job.penalty.target_l0 == relu.sparsity
    topk = next(s for s in specs if s.architecture == "aligned_topk")
    assert params.job(topk, tmp_path, tmp_path).sae_cfg["k"] == topk.sparsity
    toy = bimodality.load_toy("smoke")
    jobs = params.all_jobs(toy, tmp_path / "acts", tmp_path)
    assert len(jobs) == len(specs) + len(toy.headline_ks)
    assert [getattr(j, "architecture", None) for j in jobs[:2]] == ["standard", "aligned_standard"]
    assert [j.k for j in params.toy_jobs(toy, tmp_path)] == list(toy.headline_ks)
    for tier in ("cpu", "paper"):
        bimodality.load(tier)


def test_bad_section_params_name_the_parameter(tmp_path):
    params = bimodality.load("smoke")
    fields = {f: getattr(params, f) for f in params.__dataclass_fields__}
    with pytest.raises(ParamError, match="relu_l0s"):
        bimodality.BimodalityParams(**{**fields, "relu_l0s": (4, 8)})
    with pytest.raises(ParamError, match="topk_ks"):
        bimodality.BimodalityParams(**{**fields, "topk_ks": (4, 8, params.width)})
    with pytest.raises(ParamError, match="separation_auc"):
        bimodality.BimodalityParams(**{**fields, "separation_auc": 1.5})
