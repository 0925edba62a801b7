"""Aligned training (BIM §5, Eq. 2-3): a_i = 1 by construction, trained and saved by SAELens."""

import pytest
import torch
from sae_lens import StandardSAE, TopKSAE
from saerepro.evals.bimodality import alignment_scores
from saerepro.saes.aligned import UNALIGNED, aligned_encoder
from saerepro.saes.checkpoints import load_sae, load_training_sae, save_training_sae
from saerepro.toy.model import ToyModel, ToyModelConfig
from saerepro.training.trainer import (
    TrainSettings,
    make_training_sae,
    train_sae,
)

ALIGNED = sorted(UNALIGNED)
CFG = {"aligned_standard": {"l1_coefficient": 0.05}, "aligned_topk": {"k": 4}}
INFERENCE = {"aligned_standard": StandardSAE, "aligned_topk": TopKSAE}


def test_eq2_gives_unit_inner_products_whatever_a_and_the_decoder():
    gen = torch.Generator().manual_seed(0)
    free, W_dec = torch.randn(7, 12, generator=gen), 3 * torch.randn(12, 8, generator=gen)
    W_enc = aligned_encoder(free, W_dec)
    assert W_enc.shape == (8, 12)
    assert torch.allclose(alignment_scores(W_enc, W_dec), torch.ones(12), atol=1e-5)
    # the component of W_enc orthogonal to each decoder row is A's, last input coordinate 0
    A = torch.cat([free, torch.zeros(1, 12)])
    unit = W_dec / W_dec.norm(dim=1, keepdim=True)
    residual = (W_enc - A).T
    assert torch.allclose(
        residual - (residual * unit).sum(1, keepdim=True) * unit, torch.zeros(12, 8), atol=1e-5
    )


@pytest.fixture(scope="module")
def toy_batches():
    model = ToyModel(ToyModelConfig(n_features=12, d_model=16, seed=0))
    return model, lambda seed: model.batches(128, seed=seed)


@pytest.mark.parametrize("arch", ALIGNED)
def test_trained_aligned_sae_keeps_a_equal_1_and_saves_as_the_stock_sae(
    arch, toy_batches, tmp_path
):
    model, batches = toy_batches
    sae = make_training_sae(arch, seed=0, d_in=16, d_sae=12, **CFG[arch])
    free_before = sae.A.detach().clone()
    result = train_sae(sae, batches(0), TrainSettings(128 * 300, 128, lr=3e-3), progress=False)
    assert result.mse_losses[-1] < 0.5 * result.mse_losses[0]  # it learns
    assert not torch.allclose(sae.A.detach(), free_before)  # A is trained
    assert "W_enc" not in dict(sae.named_parameters()) and sae.A.shape == (15, 12)
    a = alignment_scores(sae.W_enc.detach(), sae.W_dec.detach())
    assert (a - 1).abs().max() < 1e-5
    sae.save_inference_model(tmp_path / "inference")
    loaded = load_sae(tmp_path / "inference")
    assert type(loaded) is INFERENCE[arch]
    assert (alignment_scores(loaded.W_enc, loaded.W_dec) - 1).abs().max() < 1e-5
    x = model.sample(64, torch.Generator().manual_seed(1)).inputs
    sae.eval()
    assert torch.allclose(loaded(x), sae.decode(sae.encode(x)), atol=1e-4)
    again = load_training_sae(save_training_sae(sae, tmp_path / "training"))
    assert torch.allclose(again.W_enc, sae.W_enc) and again.cfg.architecture() == arch


def test_standard_relu_is_not_aligned_by_construction(toy_batches):
    _, batches = toy_batches
    sae = make_training_sae("standard", seed=0, d_in=16, d_sae=12, l1_coefficient=0.05)
    train_sae(sae, batches(0), TrainSettings(128 * 100, 128, lr=3e-3), progress=False)
    a = alignment_scores(sae.W_enc.detach(), sae.W_dec.detach())
    assert (a - 1).abs().max() > 1e-2
