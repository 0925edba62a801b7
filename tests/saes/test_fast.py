"""The fast TopK/BatchTopK training SAEs compute what SAELens's stock classes compute."""

import pytest
import torch
from sae_lens import JumpReLUSAE, TopKSAE
from sae_lens.saes.sae import SAE, TrainStepInput
from saerepro.saes.checkpoints import load_training_sae, save_training_sae
from saerepro.saes.fast import (
    STOCK_EQUIVALENT,
    FastBatchTopKTrainingSAE,
    FastTopKTrainingSAE,
)
from saerepro.saes.sparse_codes import SAMPLE_SIZE, batch_top, decode_from, row_top
from saerepro.training.l0_control import set_k
from saerepro.training.trainer import (
    TrainSettings,
    make_training_sae,
    train_sae,
)

FAST = sorted(STOCK_EQUIVALENT)


def _step(arch, x, dead, **cfg):
    sae = make_training_sae(arch, seed=0, **cfg)
    with torch.no_grad():  # a non-zero decoder bias, so its input-side gradient is exercised
        sae.b_dec.normal_(generator=torch.Generator().manual_seed(5))
    step = TrainStepInput(
        sae_in=x, dead_neuron_mask=dead, coefficients={}, n_training_steps=0, is_logging_step=False
    )
    output = sae.training_forward_pass(step)
    output.loss.backward()
    return output, {name: p.grad for name, p in sae.named_parameters()}


@pytest.mark.parametrize("fast", FAST)
@pytest.mark.parametrize("rescale", [True, False])
@pytest.mark.parametrize("with_dead", [False, True])
def test_one_step_matches_stock_loss_activations_and_gradients(fast, rescale, with_dead):
    x = torch.randn(256, 32, generator=torch.Generator().manual_seed(1)) * 2 + 0.3
    dead = torch.rand(128, generator=torch.Generator().manual_seed(2)) < 0.3 if with_dead else None
    cfg = dict(d_in=32, d_sae=128, k=8, rescale_acts_by_decoder_norm=rescale)
    stock, stock_grads = _step(STOCK_EQUIVALENT[fast], x, dead, **cfg)
    ours, our_grads = _step(fast, x, dead, **cfg)
    assert torch.allclose(ours.loss, stock.loss, rtol=1e-5)
    if with_dead:
        aux = ours.losses["auxiliary_reconstruction_loss"]
        assert aux > 0 and torch.allclose(aux, stock.losses["auxiliary_reconstruction_loss"])
    acts = ours.feature_acts.to_dense() if ours.feature_acts.is_sparse else ours.feature_acts
    assert torch.allclose(acts, stock.feature_acts, atol=1e-5)
    for name, grad in stock_grads.items():
        assert torch.allclose(our_grads[name], grad, rtol=1e-4, atol=1e-6 * grad.abs().max()), name


def _codes_matrix(codes, scores):
    return codes.to_dense(codes.gather(scores))


@pytest.mark.parametrize("shape", [(64, 50), (512, 700)])  # exact path, and the sampled bracket
def test_batch_top_selects_exactly_the_flat_topk(shape):
    scores = torch.randn(*shape, generator=torch.Generator().manual_seed(0))
    n_keep = 9 * shape[0]
    assert (shape[0] * shape[1] > SAMPLE_SIZE) == (shape == (512, 700))
    ours = _codes_matrix(batch_top(scores, n_keep), scores)
    top = torch.topk(scores.flatten(), n_keep)
    expected = torch.zeros(scores.numel()).scatter(0, top.indices, top.values).view(shape)
    assert torch.equal(ours, expected)


def test_batch_top_keeps_every_positive_when_there_are_too_few():
    scores = -torch.ones(300, 400)
    scores[::7, ::3] = 1.5
    codes = batch_top(scores, 100_000)
    assert codes.nnz == int((scores > 0).sum())
    assert batch_top(scores, 0).nnz == 0


def test_row_top_selects_the_positive_topk_of_each_row():
    scores = torch.randn(40, 30, generator=torch.Generator().manual_seed(0))
    scores[3] = -1.0  # a row with nothing positive keeps nothing
    top = torch.topk(scores, 5, dim=-1)
    expected = torch.zeros_like(scores).scatter(-1, top.indices, top.values.relu())
    assert torch.equal(_codes_matrix(row_top(scores, 5), scores), expected)


def test_sparse_decode_gradients_match_dense():
    scores = torch.randn(16, 24, generator=torch.Generator().manual_seed(0))
    codes = row_top(scores, 4)
    values = codes.gather(scores).requires_grad_()
    W_dec = torch.randn(24, 8, requires_grad=True)
    decode_from(values, W_dec, codes).pow(2).sum().backward()
    dense_values = codes.gather(scores).requires_grad_()
    W_dense = W_dec.detach().clone().requires_grad_()
    (codes.to_dense(dense_values) @ W_dense).pow(2).sum().backward()
    assert torch.allclose(values.grad, dense_values.grad, atol=1e-5)
    assert torch.allclose(W_dec.grad, W_dense.grad, atol=1e-5)


def _sparse_data(batch_size: int, seed: int):
    """Sparse non-negative combinations of 96 fixed directions in R^32."""
    gen = torch.Generator().manual_seed(seed)
    directions = torch.randn(96, 32, generator=torch.Generator().manual_seed(99))
    while True:
        codes = (torch.rand(batch_size, 96, generator=gen) < 0.06) * torch.rand(
            batch_size, 96, generator=gen
        )
        yield codes @ directions


@pytest.mark.parametrize("fast", FAST)
def test_training_matches_stock_over_three_hundred_steps(fast):
    """Same init and data: loss, L0 and dead-latent count agree within the stated tolerance."""
    settings = TrainSettings(
        total_samples=256 * 300, batch_size=256, lr=2e-3, record_every=1, dead_feature_window=60
    )
    runs = {}
    for arch in (STOCK_EQUIVALENT[fast], fast):
        sae = make_training_sae(arch, seed=0, d_in=32, d_sae=256, k=6)
        runs[arch] = train_sae(sae, _sparse_data(256, 1), settings, progress=False)
    stock, ours = runs[STOCK_EQUIVALENT[fast]], runs[fast]
    first, last = stock.mse_losses[0], sum(stock.mse_losses[-50:]) / 50
    assert last < 0.3 * first, "the stock SAE learned something to compare against"
    assert ours.mse_losses[0] == pytest.approx(first, rel=1e-5)
    assert sum(ours.mse_losses[-50:]) / 50 == pytest.approx(last, rel=0.005)
    assert sum(ours.l0s[-50:]) / 50 == pytest.approx(sum(stock.l0s[-50:]) / 50, rel=0.01)
    dead = [r.sae.cfg.metadata.num_dead_features for r in (stock, ours)]
    assert abs(dead[0] - dead[1]) <= max(3, 0.1 * dead[0]), dead


@pytest.mark.parametrize(
    ("fast", "inference_class"),
    [("fast_batchtopk", JumpReLUSAE), ("fast_topk", TopKSAE)],
)
def test_fast_saes_save_load_and_export_like_the_stock_ones(tmp_path, fast, inference_class):
    sae = make_training_sae(fast, seed=0, d_in=12, d_sae=16, k=3)
    save_training_sae(sae, tmp_path / "training")
    loaded = load_training_sae(tmp_path / "training")
    assert type(loaded) is type(sae) and torch.equal(loaded.W_enc, sae.W_enc)
    sae.save_inference_model(tmp_path / "inference")
    assert isinstance(SAE.load_from_disk(tmp_path / "inference"), inference_class)


def test_l0_schedule_changes_k_of_a_fast_batchtopk_sae():
    sae = make_training_sae("fast_batchtopk", seed=0, d_in=32, d_sae=64, k=8)
    assert isinstance(sae, FastBatchTopKTrainingSAE)
    set_k(sae, 2.5)
    step = TrainStepInput(
        sae_in=next(_sparse_data(200, 0)),
        dead_neuron_mask=None,
        coefficients={},
        n_training_steps=0,
        is_logging_step=False,
    )
    assert sae.training_forward_pass(step).feature_acts.to_dense().count_nonzero() == 500


def test_unsupported_settings_are_refused_by_name():
    with pytest.raises(ValueError, match="normalize_activations"):
        make_training_sae(
            "fast_topk", seed=0, d_in=8, d_sae=16, k=2, normalize_activations="layer_norm"
        )
    assert isinstance(
        make_training_sae("fast_topk", seed=0, d_in=8, d_sae=16, k=2), FastTopKTrainingSAE
    )
