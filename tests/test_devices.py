"""The library computes the same on every device: held-out rows may live on the CPU while the
SAE sits on a GPU, step hooks see the batch on the SAE's device, accumulators follow the SAE.
Parametrised over ``cpu`` and, where ``torch.cuda.is_available()``, ``cuda`` (marker ``gpu``)."""

import pytest
import torch
from saerepro.evals.heldout import firing_frequencies, heldout_metrics
from saerepro.evals.inference_threshold import compare_inference
from saerepro.evals.stitching import Decoder, insertion_delta_mse
from saerepro.training.dead_latents import DeadLatentProbe
from saerepro.training.decoder_bias import centre_decoder_bias
from saerepro.training.sparsity_control import L0Calibration
from saerepro.training.trainer import TrainSettings, make_training_sae, train_sae

DEVICES = [
    "cpu",
    pytest.param(
        "cuda",
        marks=[
            pytest.mark.gpu,
            pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"),
        ],
    ),
]


def data(n=1024, d=16, seed=0):
    gen = torch.Generator().manual_seed(seed)
    directions = torch.nn.functional.normalize(torch.randn(24, d, generator=gen), dim=1)
    codes = torch.rand(n, 24, generator=gen) * (torch.rand(n, 24, generator=gen) < 0.15)
    return 3.0 + codes @ directions  # a mean away from 0, as residual streams have


def trained(architecture, device, hooks=(), **cfg):
    sae = make_training_sae(architecture, seed=0, d_in=16, d_sae=32, device=device, **cfg)
    x = data()
    batches = iter([x[i : i + 128] for i in range(0, 1024, 128)] * 4)  # CPU batches
    settings = TrainSettings(total_samples=4096, batch_size=128, lr=1e-3)
    train_sae(sae, batches, settings, hooks=list(hooks), progress=False)
    return sae


@pytest.mark.parametrize("device", DEVICES)
def test_hooks_see_the_batch_on_the_saes_device(device):
    seen = []
    probe = DeadLatentProbe(window=2)
    sae = trained(
        "jumprelu",
        device,
        hooks=[centre_decoder_bias, L0Calibration(4), probe, lambda s, m, b: seen.append(b.device)],
    )
    assert {d.type for d in seen} == {torch.device(device).type}
    assert sae.b_dec.device.type == torch.device(device).type
    assert probe.history and all(0 <= dead <= 1 for _, dead, _ in probe.history)


@pytest.mark.parametrize("device", DEVICES)
def test_heldout_metrics_take_cpu_rows_for_an_sae_anywhere(device):
    sae = trained("batchtopk", "cpu", k=4).to(device)
    x = data(seed=1)  # on the CPU, as the activation cache gives it
    here = heldout_metrics(sae.to("cpu"), x)
    there = heldout_metrics(sae.to(device), x)
    assert there.l0 == pytest.approx(here.l0) and there.nmse == pytest.approx(here.nmse, rel=1e-4)
    assert torch.allclose(
        firing_frequencies(sae.to(device), x), firing_frequencies(sae.to("cpu"), x)
    )


@pytest.mark.parametrize("device", DEVICES)
def test_inference_comparison_and_insertions_on_a_device(device, tmp_path):
    from saerepro.saes.checkpoints import load_sae, save_inference_sae

    save_inference_sae(trained("batchtopk", "cpu", k=4), tmp_path / "sae")
    sae = load_sae(tmp_path / "sae", inputs="raw").to(device)
    comparison = compare_inference(sae, data(seed=2), k=4, batch_size=256)
    assert comparison.l0_batch == pytest.approx(4, rel=0.01)
    x = data(seed=3).to(device)
    rows = torch.nn.functional.normalize(torch.randn(8, 16), dim=1).to(device)
    small, large = Decoder(rows[:4], x.mean(0)), Decoder(rows, x.mean(0))
    codes = torch.rand(len(x), 8, device=device)
    delta = insertion_delta_mse(x, codes[:, :4], small, codes, large)
    assert delta.device.type == "cpu" and delta.shape == (8,)
