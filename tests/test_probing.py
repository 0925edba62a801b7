"""Probes and model-level metric formulas on cases with known answers."""

import numpy as np
import pytest
import torch
from saerepro.metrics import ce_degradation, ce_loss_recovered, explained_variance, nmse
from saerepro.probing import f1_score, logistic_probe, mean_pool


def test_mean_pool_leaves_out_bos_and_padding():
    acts = np.zeros((2, 4, 2), dtype=np.float16)
    acts[:, 0] = 1e4  # BOS
    acts[0, 1:] = [[1, 2], [3, 4], [5, 6]]
    acts[1, 1:2] = [[7, 8]]
    acts[1, 2:] = 99  # padding
    pooled = mean_pool(acts, np.array([4, 2]))
    assert torch.equal(pooled, torch.tensor([[3.0, 4.0], [7.0, 8.0]]))


def test_f1_score_on_a_known_case():
    labels = torch.tensor([1, 1, 1, 0, 0])
    predicted = torch.tensor([1, 1, 0, 1, 0])
    assert f1_score(labels, predicted) == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))
    assert f1_score(labels, torch.zeros(5, dtype=torch.long)) == 0


def test_logistic_probe_separates_separable_data_and_is_deterministic():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(200, 16, generator=generator)
    y = (x[:, 3] - 0.5 * x[:, 7] > 0).long()
    first = logistic_probe(x[:150], y[:150], x[150:], y[150:])
    second = logistic_probe(x[:150], y[:150], x[150:], y[150:])
    assert first == second
    assert first.f1 > 0.9 and first.accuracy > 0.9


def test_logistic_probe_rejects_non_binary_labels():
    with pytest.raises(ValueError, match="y_train"):
        logistic_probe(
            torch.zeros(3, 2), torch.tensor([0, 1, 2]), torch.zeros(1, 2), torch.tensor([0])
        )


def test_nmse_and_ce_formulas():
    x = torch.randn(50, 4, generator=torch.Generator().manual_seed(1))
    assert nmse(x, x) == 0
    assert nmse(x, x.mean(0).expand_as(x)) == pytest.approx(1)
    assert nmse(x, 0.5 * x) == pytest.approx(1 - explained_variance(x, 0.5 * x))
    assert ce_degradation(2.0, 2.5) == 0.5
    assert ce_loss_recovered(2.0, 2.0, 10.0) == 1
    assert ce_loss_recovered(2.0, 10.0, 10.0) == 0
    assert ce_loss_recovered(2.0, 6.0, 10.0) == 0.5
    with pytest.raises(ValueError, match="undefined"):
        ce_loss_recovered(2.0, 3.0, 2.0)
