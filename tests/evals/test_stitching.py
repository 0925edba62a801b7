"""SAE stitching on hand-built SAEs: Eq. 5, single insertions, the novel split, groups and paths."""

import math

import pytest
import torch
from saerepro.core.checks import ParamError
from saerepro.evals.stitching import (
    Decoder,
    SwapGroup,
    cosine_matrix,
    insertion_delta_mse,
    insertion_roc,
    interpolation_path,
    is_novel,
    max_cosines,
    mse_where_active,
    per_sample_mse,
    reconstruction_share,
    stitched_reconstruction,
    swap_groups,
)

D_IN = 64


@pytest.fixture(scope="module")
def planted():
    """A smaller SAE of 12 atoms; a larger one with near-copies of 10 of them, one atom split
    into two, and 8 novel atoms; inputs are sparse sums of every atom, coded exactly."""
    gen = torch.Generator().manual_seed(0)
    atoms = torch.nn.functional.normalize(torch.randn(21, D_IN, generator=gen), dim=1)
    small_rows = atoms[:12]
    split = torch.nn.functional.normalize(atoms[11] + 0.6 * atoms[12], dim=0)
    large_rows = torch.cat(
        [
            atoms[:10] + 0.02 * torch.randn(10, D_IN, generator=gen),
            torch.stack([split, torch.nn.functional.normalize(atoms[11] - 0.6 * atoms[12], dim=0)]),
            atoms[13:21],
        ]
    )
    n = 3000
    coef = torch.rand(n, 21, generator=gen) * (torch.rand(n, 21, generator=gen) < 0.15)
    bias = torch.randn(D_IN, generator=gen)
    x = bias + coef @ atoms
    small_codes = coef[:, :12]
    large_codes = torch.cat([coef[:, :10], coef[:, 11:12].expand(-1, 2) / 2, coef[:, 13:]], 1)
    small = Decoder(small_rows, bias)
    large = Decoder(large_rows, bias + 0.01)
    return x, small_codes, small, large_codes, large


def test_eq5_with_all_latents_of_one_sae_is_that_sae(planted):
    _, small_codes, small, large_codes, large = planted
    only_small = stitched_reconstruction(small_codes, small, large_codes, large)
    assert torch.equal(only_small, small.bias + small_codes @ small.weight)
    only_large = stitched_reconstruction(small_codes, small, large_codes, large, (), None)
    assert torch.equal(only_large, large.bias + large_codes @ large.weight)
    half = stitched_reconstruction(small_codes, small, large_codes, large, [0, 1], [2, 3])
    expected = (small.bias + large.bias) / 2 + small_codes[:, :2] @ small.weight[:2]
    assert torch.allclose(half, expected + large_codes[:, 2:4] @ large.weight[2:4])
    with pytest.raises(ParamError, match="large_latents"):
        stitched_reconstruction(small_codes, small, large_codes, large, None, [99])


def test_vectorised_insertion_matches_eq5_one_latent_at_a_time(planted):
    x, small_codes, small, large_codes, large = planted
    delta = insertion_delta_mse(x, small_codes, small, large_codes, large, chunk=700)
    base = per_sample_mse(x, stitched_reconstruction(small_codes, small, large_codes, large)).mean()
    for j in (0, 10, 15):
        one = stitched_reconstruction(small_codes, small, large_codes, large, None, [j])
        assert float(delta[j]) == pytest.approx(float(per_sample_mse(x, one).mean() - base), 1e-4)


def test_planted_novel_latents_are_found_and_lower_mse(planted):
    x, small_codes, small, large_codes, large = planted
    best = max_cosines(large, small)
    novel = is_novel(best.value, 0.7)
    assert novel.tolist() == [False] * 12 + [True] * 8
    assert best.index[:10].tolist() == list(range(10)) and best.index[10:12].tolist() == [11, 11]
    delta = insertion_delta_mse(x, small_codes, small, large_codes, large)
    assert bool((delta[novel] < 0).all()) and bool((delta[:10] > 0).all())
    roc = insertion_roc(best.value, delta < 0)
    assert roc.auc > 0.95 and 0.3 < roc.best_threshold < 0.98
    assert roc.true_positive_rate[-1] == 1 and roc.false_positive_rate[0] == 0
    one_sided = insertion_roc(best.value, torch.ones(20, dtype=torch.bool))
    assert math.isnan(one_sided.auc) and math.isnan(one_sided.best_threshold)
    with pytest.raises(ParamError, match="lowers_mse"):
        insertion_roc(best.value, torch.ones(3, dtype=torch.bool))


def test_groups_of_a_hand_built_cosine_matrix():
    cos = torch.tensor(
        [
            [0.9, 0.8, 0.0, 0.0, 0.0],  # small 0 splits into large 0 and 1
            [0.0, 0.75, 0.0, 0.0, 0.0],  # small 1 shares large 1: same component
            [0.0, 0.0, 0.95, 0.0, 0.1],  # small 2 <-> large 2
            [0.0, 0.0, 0.0, 0.1, 0.0],  # small 3 has no counterpart
        ]
    )
    groups = swap_groups(cos, 0.7)
    assert groups == [SwapGroup((0, 1), (0, 1)), SwapGroup((2,), (2,))]
    assert swap_groups(cos, 0.99) == []


def test_interpolation_path_starts_and_ends_at_eq5(planted):
    x, small_codes, small, large_codes, large = planted
    cos = cosine_matrix(small, large)
    groups = swap_groups(cos, 0.7)
    novel = list(range(12, 20))
    path = interpolation_path(x, small_codes, small, large_codes, large, novel, groups)
    assert [s.phase for s in path] == ["start"] + ["add novel"] * 8 + ["swap group"] * len(groups)
    start = per_sample_mse(x, stitched_reconstruction(small_codes, small, large_codes, large))
    assert path[0].mse == pytest.approx(float(start.mean()), rel=1e-5)
    assert path[0].l0 == pytest.approx(float((small_codes != 0).sum(1).float().mean()))
    left = [i for i in range(12) if all(i not in g.small for g in groups)]
    end = stitched_reconstruction(small_codes, small, large_codes, large, left, None)
    assert path[-1].mse == pytest.approx(float(per_sample_mse(x, end).mean()), rel=1e-5)
    assert (path[-1].n_small, path[-1].n_large) == (len(left), 20)
    assert path[8].mse < path[0].mse  # the novel atoms were missing from the smaller SAE
    with pytest.raises(ParamError, match="novel"):
        interpolation_path(x, small_codes, small, large_codes, large, [12, 12], [])


def test_mse_where_active_and_reconstruction_share(planted):
    x, small_codes, small, large_codes, large = planted
    sample = per_sample_mse(x, stitched_reconstruction(small_codes, small, large_codes, large))
    active, inactive = mse_where_active(sample, large_codes, range(12, 20))
    assert active > inactive  # the smaller SAE misses exactly what the novel latents code
    assert reconstruction_share(large, small, 0.7) == pytest.approx(12 / 20)
    assert reconstruction_share(small, small, 0.7) == 1.0
    with pytest.raises(ParamError, match="threshold"):
        is_novel(torch.zeros(3), 1.5)


def test_section_params_and_the_pairs_of_a_family(tmp_path):
    from dataclasses import asdict

    from saerepro.sections import stitching as section
    from saerepro.training.family import FamilyMember, SAEFamily

    for tier in ("smoke", "cpu", "paper"):
        assert section.load(tier).eval_tokens >= 2
    values = asdict(section.load("smoke"))
    with pytest.raises(ParamError, match="majority"):
        section.StitchingParams(**(values | {"majority": 0.3}))
    members = tuple(
        FamilyMember(f"w{d}_s{s}", d, 8, s, f"w{d}_s{s}")
        for d, s in ((64, 1), (32, 0), (64, 0), (128, 0))
    )
    family = SAEFamily(tmp_path, members, {})
    pairs = [(a.d_sae, b.d_sae) for a, b in section.width_pairs(family)]
    assert pairs == [(32, 64), (64, 128)]
    assert [m.seed for m in section.seed_pair(family)] == [0, 1]
    with pytest.raises(ParamError, match="family"):
        section.seed_pair(SAEFamily(tmp_path, members[1:], {}))


def test_stitching_checks_on_known_answers():
    from saerepro.evals.stitching import Decoder
    from saerepro.evals.stitching_checks import (
        alive_latents,
        bias_agreement,
        largest_group_share,
        rates_at,
    )

    codes = torch.tensor([[0.0, 1.0, 0.0], [0.0, 2.0, 0.5]])
    assert alive_latents(codes).tolist() == [False, True, True]
    max_cos = torch.tensor([0.2, 0.4, 0.8, 0.9])
    lowers = torch.tensor([True, False, True, False])
    at = rates_at(max_cos, lowers, 0.5)
    assert (at.true_positive_rate, at.false_positive_rate) == (0.5, 0.5) and at.youden == 0.0
    assert rates_at(max_cos, lowers, 0.95).true_positive_rate == 1.0
    cosines = torch.eye(4)[:2] * 0.6 + 0.3  # 2 small x 4 large: 0.9 on the diagonal, 0.3 off
    shares = largest_group_share(cosines, [0.25, 0.5, 0.95])
    assert shares[0.25] == 1.0 and shares[0.5] == pytest.approx(2 / 6) and shares[0.95] == 0.0
    bias = torch.tensor([1.0, 0.0])
    a = Decoder(torch.eye(2), bias)
    assert bias_agreement(a, Decoder(torch.eye(2), 2 * bias)) == pytest.approx(1.0)
    assert bias_agreement(a, Decoder(torch.eye(2), torch.tensor([0.0, 1.0]))) == pytest.approx(0.0)
