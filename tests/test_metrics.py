import math

import pytest
import torch
from saerepro import metrics
from saerepro.core.checks import ParamError

X = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
# rows normalise to (1, 0), (0, 1), (1, 1)/sqrt(2)
W_DEC = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]])


def test_nth_decoder_projection_hand_computed():
    # Z = [[1, 0, 0.7071], [0, 2, 1.4142]]; sorted: 2, 1.4142, 1, 0.7071, 0, 0; b = 2
    b_dec = torch.zeros(2)
    assert metrics.nth_decoder_projection(X, W_DEC, b_dec, 1) == pytest.approx(math.sqrt(2))
    assert metrics.nth_decoder_projection(X, W_DEC, b_dec, 2) == pytest.approx(1 / math.sqrt(2))
    assert metrics.nth_decoder_projection(X, W_DEC, b_dec, 3) == pytest.approx(0.0)


def test_nth_decoder_projection_subtracts_the_decoder_bias():
    # x - b_dec = [[0, 0], [-1, 2]]; Z = [[0, 0, 0], [-1, 2, 0.7071]]
    b_dec = torch.tensor([1.0, 0.0])
    got = metrics.nth_decoder_projections(X, W_DEC, b_dec, [1, 2, 3])
    assert got == pytest.approx([1 / math.sqrt(2), 0.0, -1.0])


@pytest.mark.parametrize("n", [0, 4, -1])
def test_nth_decoder_projection_rejects_n_outside_range(n):
    with pytest.raises(ParamError, match=r"n=.*1\.\.3"):
        metrics.nth_decoder_projection(X, W_DEC, torch.zeros(2), n)


def test_reconstruction_metrics():
    x = torch.tensor([[1.0, 1.0], [3.0, 1.0]])
    x_hat = torch.tensor([[1.0, 0.0], [3.0, 1.0]])
    assert metrics.mse(x, x_hat) == pytest.approx(0.5)
    # total variance: mean (2, 1); deviations (-1, 0), (1, 0) -> 2; residual 1
    assert metrics.explained_variance(x, x_hat) == pytest.approx(0.5)
    assert metrics.explained_variance(x, x) == pytest.approx(1.0)


def test_sparsity_metrics():
    acts = torch.tensor([[0.0, 1.0, 0.0], [2.0, 3.0, 0.0]])
    assert metrics.mean_l0(acts) == pytest.approx(1.5)
    assert metrics.dead_latents(acts) == 1


def test_feature_recovery_and_matching():
    features = torch.eye(3)
    W_dec = torch.tensor([[0.0, 0.0, 5.0], [1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])
    cos = metrics.decoder_feature_cosines(W_dec, features)
    assert metrics.feature_recovery(cos) == pytest.approx((1 + 1 / math.sqrt(2) + 1) / 3)
    assert metrics.matched_latent_order(cos).tolist() == [1, 2, 0]


def test_late_loss_change():
    assert metrics.late_loss_change([5.0] * 10) == pytest.approx(0.0)
    # 10 points, fraction 0.2: the last point (1) against the one before it (2), over the first (10)
    assert metrics.late_loss_change([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]) == pytest.approx(-0.1)
    # a curve settling toward 0 counts as flat even though its own scale shrinks
    assert metrics.late_loss_change([10.0] + [1e-3] * 8 + [1e-5]) > -1e-3
    with pytest.raises(ParamError, match="fraction"):
        metrics.late_loss_change([1.0, 2.0], fraction=0)


def test_final_loss_drop():
    assert metrics.final_loss_drop([5.0] * 10) == pytest.approx(0.0)
    # the last point (1) against the one before it (2): half the final loss still being lost
    assert metrics.final_loss_drop([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]) == pytest.approx(1.0)
    # a large first loss does not hide a slow descent (late_loss_change would say -0.0002)
    assert metrics.final_loss_drop([500.0] + [10.0] * 8 + [9.9]) == pytest.approx(0.1 / 9.9)
    with pytest.raises(ParamError, match="losses"):
        metrics.final_loss_drop([1.0, 0.0, 0.0])


def test_nth_decoder_projection_is_the_rank_statistic_of_the_sorted_projections():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(64, 6, generator=generator).round()  # rounding plants ties
    w_dec = torch.randn(10, 6, generator=generator)
    b_dec = torch.randn(6, generator=generator)
    ns = [1, 3, 10]
    z = ((x - b_dec) @ metrics.unit_rows(w_dec).T).flatten().sort(descending=True).values
    assert metrics.nth_decoder_projections(x, w_dec, b_dec, ns) == [
        z[n * 64 - 1].item() for n in ns
    ]
