"""Probes and model-level metric formulas on cases with known answers."""

import numpy as np
import pytest
import torch
from saerepro.data.probing_tasks import ProbeTask
from saerepro.evals.probe_fit import auc, fit_probe, weighted_f1
from saerepro.evals.probing import (
    bag_of_tokens_probe,
    dense_probe,
    last_token,
    mean_difference_latents,
    mean_pool,
    pooled_latents,
    sparse_probe,
    token_counts,
)
from saerepro.metrics import ce_degradation, ce_loss_recovered, explained_variance, nmse


def test_mean_pool_leaves_out_bos_and_padding():
    acts = np.zeros((2, 4, 2), dtype=np.float16)
    acts[:, 0] = 1e4  # BOS
    acts[0, 1:] = [[1, 2], [3, 4], [5, 6]]
    acts[1, 1:2] = [[7, 8]]
    acts[1, 2:] = 99  # padding
    pooled = mean_pool(acts, np.array([4, 2]))
    assert torch.equal(pooled, torch.tensor([[3.0, 4.0], [7.0, 8.0]]))


def test_last_token_takes_each_examples_final_position():
    acts = np.arange(2 * 4 * 2, dtype=np.float16).reshape(2, 4, 2)
    assert torch.equal(last_token(acts, np.array([4, 2])), torch.tensor([[6.0, 7.0], [10.0, 11.0]]))
    with pytest.raises(ValueError, match="lengths"):
        last_token(acts, np.array([4, 1]))  # BOS only: nothing to read


def test_weighted_f1_and_auc_on_known_cases():
    labels = torch.tensor([1, 1, 1, 0, 0])
    predicted = torch.tensor([1, 1, 0, 1, 0])
    f1_positive, f1_negative = 2 * 2 / (2 * 2 + 1 + 1), 2 * 1 / (2 * 1 + 1 + 1)
    assert weighted_f1(labels, predicted) == pytest.approx(0.6 * f1_positive + 0.4 * f1_negative)
    assert weighted_f1(labels, labels) == 1.0
    scores = torch.tensor([0.9, 0.8, 0.1, 0.5, 0.1])  # positives > negatives in 4 of 6 pairs, 1 tie
    assert auc(labels, scores) == pytest.approx(4.5 / 6)
    assert auc(labels, -labels.float()) == 0.0


def test_probe_separates_separable_data_and_is_deterministic():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(200, 16, generator=generator)
    y = (x[:, 3] - 0.5 * x[:, 7] > 0).long()
    first = fit_probe(x[:150], y[:150], x[150:], y[150:])
    second = fit_probe(x[:150], y[:150], x[150:], y[150:])
    assert first.f1 == second.f1 and torch.equal(first.scores, second.scores)
    assert first.f1 > 0.9 and first.auc > 0.95 and first.accuracy > 0.9
    assert len(first.scores) == len(first.predicted) == 50


def test_the_l1_strength_is_chosen_on_validation():
    generator = torch.Generator().manual_seed(3)
    x = torch.randn(300, 40, generator=generator)
    y = (x[:, 0] > 0).long()  # one informative dimension among 40
    noisy = fit_probe(x[:200], y[:200], x[200:], y[200:], strengths=(0.0, 0.05))
    assert noisy.strength == 0.05  # the sparse fit generalises better than the unpenalised one
    pure_noise = torch.randint(0, 2, (300,), generator=generator)
    chance = fit_probe(x[:200], pure_noise[:200], x[200:], pure_noise[200:])
    assert 0.3 < chance.auc < 0.7


def test_probe_rejects_one_class_or_non_binary_labels():
    for labels in (torch.tensor([0, 1, 2, 1]), torch.zeros(4, dtype=torch.long)):
        with pytest.raises(ValueError, match="y_train"):
            fit_probe(torch.zeros(4, 2), labels, torch.zeros(1, 2), torch.tensor([0]))


def test_bag_of_tokens_ignores_order_and_tokens_unseen_in_training():
    ids = [[1, 5, 6, 6], [1, 6, 5, 6], [1, 7, 7, 9], [1, 8, 8, 8]]
    counts = token_counts(ids, torch.tensor([True, True, True, False]))
    assert counts.tolist() == [[1, 1, 2, 0], [1, 1, 2, 0], [1, 0, 0, 2], [1, 0, 0, 0]]
    labels = torch.tensor([0, 1] * 20)
    shuffled_pairs = [[1, 3, 4] if i % 4 < 2 else [1, 4, 3] for i in range(40)]
    task = _task(torch.zeros(40, 2), labels, 30)
    assert bag_of_tokens_probe(shuffled_pairs, task).auc == 0.5  # same bag, both classes


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


def _task(features: torch.Tensor, labels: torch.Tensor, n_train: int) -> ProbeTask:
    """A task whose examples are one token each (BOS + 1), with ``features`` as activations."""
    n, d = features.shape
    acts = np.zeros((n, 3, d), dtype=np.float16)
    acts[:, 1] = features.numpy()
    is_train = torch.arange(n) < n_train
    return ProbeTask("planted", acts, np.full(n, 2), labels, is_train)


def test_mean_difference_selection_finds_the_planted_latents():
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(200) % 2
    features = torch.rand(200, 50, generator=generator) * 0.1
    features[:, 17] += 2.0 * labels  # fires on the positive class
    features[:, 4] += 1.0 * (1 - labels)  # fires on the negative class: |difference| counts
    assert mean_difference_latents(features, labels, 2).tolist() == [17, 4]
    result = sparse_probe(features, _task(features, labels, 150), k=1)
    assert result.f1 == 1.0 and result.n_test == 50


def test_sparse_probe_selects_on_the_train_split_only():
    labels = torch.arange(40) % 2
    features = torch.zeros(40, 3)
    features[:30, 0] = labels[:30].float()  # informative on train
    features[30:, 1] = labels[30:].float()  # informative only on test: must not be chosen
    task = _task(features, labels, 30)
    assert mean_difference_latents(features[task.is_train], labels[task.is_train], 1).item() == 0
    with pytest.raises(ValueError, match="k="):
        sparse_probe(features, task, k=4)


def test_pooled_latents_encode_only_real_tokens_and_match_dense_pooling():
    generator = torch.Generator().manual_seed(1)
    acts = torch.randn(5, 6, 4, generator=generator).numpy().astype(np.float16)
    lengths = np.array([6, 2, 4, 3, 5])
    acts[:, 0] = 0  # BOS
    for i, length in enumerate(lengths):
        acts[i, length:] = 0  # padding
    task = ProbeTask("t", acts, lengths, torch.tensor([0, 1, 0, 1, 0]), torch.ones(5, dtype=bool))
    weight = torch.randn(4, 7, generator=generator)
    seen = []

    def encode(x: torch.Tensor) -> torch.Tensor:
        seen.append(len(x))
        return torch.relu(x @ weight)

    pooled = pooled_latents(encode, task, scale=2.0, pooling="mean", chunk_examples=2)
    expected = mean_pool(torch.relu(torch.from_numpy(acts).float() * 2.0 @ weight), lengths)
    assert sum(seen) == int((lengths - 1).sum())  # BOS and padding were never encoded
    assert torch.allclose(pooled, expected, atol=1e-5)
    last = pooled_latents(encode, task, scale=2.0)
    assert torch.allclose(last, torch.relu(last_token(acts, lengths) * 2.0 @ weight))
    with pytest.raises(ValueError, match="pooling"):
        pooled_latents(encode, task, pooling="max")


def test_probe_task_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="ProbeTask"):
        ProbeTask(
            "t", np.zeros((3, 2, 1)), np.full(2, 2), torch.zeros(3), torch.ones(3, dtype=bool)
        )


def test_dense_probe_ceiling_on_a_separable_task():
    labels = torch.arange(100) % 2
    features = torch.randn(100, 8, generator=torch.Generator().manual_seed(2))
    features[:, 5] += 3 * labels
    for pooling in ("last", "mean"):
        assert dense_probe(_task(features, labels, 70), pooling).f1 > 0.9
