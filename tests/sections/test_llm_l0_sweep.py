"""SAEs on an activation cache, their held-out evaluation, and the L0-sweep section's logic."""

import dataclasses

import pytest
import torch
from saerepro import metrics
from saerepro.core.checks import ParamError
from saerepro.core.parallel import map_jobs
from saerepro.evals.heldout import decoder_projections, heldout_metrics
from saerepro.saes.checkpoints import load_sae
from saerepro.saes.inference import encode_decode
from saerepro.sections import llm_l0_sweep
from saerepro.training.cached_jobs import TRAINING_FILE, load_run, train_cached_sae
from saerepro.training.recipe import TrainingRecipe


def test_cached_sae_trains_saves_and_is_the_same_in_any_worker(
    activation_cache, cached_job, tmp_path
):
    jobs = [
        cached_job(activation_cache, tmp_path / "a", k=2),
        cached_job(activation_cache, tmp_path / "b", k=4),
    ]
    here = [train_cached_sae(j) for j in jobs]
    there = map_jobs(
        train_cached_sae, [cached_job(activation_cache, tmp_path / "c", k=2)], 1, desc="test"
    )
    assert here[0].mse_losses == there[0].mse_losses  # deterministic across processes
    assert here[0].tokens == 6000 and here[0].epochs == pytest.approx(5)
    assert here[0].mse_losses[-1] < 0.5 * here[0].mse_losses[0]
    saved = load_run(tmp_path / "a")
    assert saved == dataclasses.replace(here[0], seconds=0.0)  # wall clock is not saved
    assert here[0].seconds > 0
    again = train_cached_sae(cached_job(activation_cache, tmp_path / "a2", k=2))
    records = [(tmp_path / f / TRAINING_FILE).read_text() for f in ("a", "a2")]
    assert records[0] == records[1].replace("/a2", "/a")  # an identical re-run, the same file
    assert again.mse_losses == here[0].mse_losses
    sae = load_sae(tmp_path / "a")
    assert sae.cfg.architecture() == "jumprelu"  # BatchTopK saves as a JumpReLU inference SAE
    assert torch.allclose(sae.W_dec.norm(dim=1), torch.ones(32), atol=1e-5)
    assert not (tmp_path / "a").with_name("a.tmp").exists()


def test_loading_a_missing_checkpoint_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_sae(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="training record"):
        load_run(tmp_path)


def test_heldout_metrics_match_the_dense_computation(activation_cache, cached_job, tmp_path):
    train_cached_sae(cached_job(activation_cache, tmp_path / "sae"))
    sae = load_sae(tmp_path / "sae")
    x = activation_cache.read(0, 500)
    codes, recon = encode_decode(sae, x, batch_size=500)
    got = heldout_metrics(sae, x, batch_size=64)  # streamed in chunks
    assert got.l0 == pytest.approx(metrics.mean_l0(codes), rel=1e-6)
    assert got.nmse == pytest.approx(metrics.nmse(x, recon), rel=1e-4)
    assert got.mse == pytest.approx(metrics.mse(x, recon), rel=1e-4)
    assert got.dead_latents == metrics.dead_latents(codes)
    assert got.dead_fraction == got.dead_latents / 32
    s_n = decoder_projections(sae, x, [2, 8])
    assert s_n[2] == metrics.nth_decoder_projection(x, sae.W_dec.detach(), sae.b_dec.detach(), 2)


def test_sweep_params_at_every_tier_follow_sbws_rule_for_n():
    cpu = llm_l0_sweep.load("cpu")
    assert min(cpu.projection_ns) > max(cpu.ks), "N above every L0 of the grid"
    assert max(cpu.projection_ns) <= cpu.d_sae // 2
    assert min(cpu.ks) < 32 and max(cpu.ks) > 640 / 4  # the grid brackets the range asked for
    paper = llm_l0_sweep.load("paper")  # validated, never run here
    assert paper.d_sae == 32768 and paper.projection_ns[0] == 700 and paper.recipe.lr == 3e-4
    assert list(paper.ks[:25]) == list(range(10, 260, 10)) and paper.ks[-1] == 2500
    smoke = llm_l0_sweep.load("smoke")
    jobs = smoke.jobs("cache", "out")
    assert [j.sae_cfg["k"] for j in jobs] == sorted(smoke.ks, reverse=True)
    assert len({j.checkpoint for j in jobs}) == len(jobs)
    assert all(j.centre_decoder_bias == smoke.recipe.centre_decoder_bias for j in jobs)


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"ks": [8, 4, 16]}, "ks"),
        ({"ks": [4, 8, 256]}, "ks"),
        ({"ks": [4, 8]}, "ks"),
        ({"projection_ns": [32, 96, 128]}, "projection_ns"),  # 32 < plausible L0 64
        ({"projection_ns": [80, 96, 200]}, "projection_ns"),  # 200 > d_sae / 2
        ({"plausible_l0": 0}, "plausible_l0"),
        ({"d_sae": 0}, "d_sae"),
        ({"recipe": {"lr_decay_fraction": 1.5}}, "recipe.lr_decay_fraction"),
        ({"recipe": {"train_tokens": 10}}, "recipe.train_tokens"),
    ],
)
def test_bad_sweep_params_are_named(change, param):
    values = {**llm_l0_sweep.load("smoke").__dict__}
    with pytest.raises(ParamError, match=param.replace(".", r"\.")):
        if "recipe" in change:
            change = {"recipe": TrainingRecipe(**{**values["recipe"].__dict__, **change["recipe"]})}
        llm_l0_sweep.LLMSweepParams(**{**values, **change})


def test_grid_optimum_helpers():
    assert llm_l0_sweep.optimum_index([3.0, 1.0, 2.0, 1.0]) == 1  # first of a tie
    assert llm_l0_sweep.optimum_index([0.1, 0.9, 0.9], maximise=True) == 1
    assert llm_l0_sweep.is_interior(1, 3) and not llm_l0_sweep.is_interior(0, 3)
    assert not llm_l0_sweep.is_interior(2, 3)
