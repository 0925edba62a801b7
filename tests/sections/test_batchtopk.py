"""The BatchTopK comparison: penalty tuning, θ inference, the SAE family, and the section params."""

import numpy as np
import pytest
import torch
from saerepro.core.checks import ParamError
from saerepro.evals.inference_threshold import (
    active_latents_per_sample,
    batch_level_codes,
    compare_inference,
    pre_activations,
)
from saerepro.saes.checkpoints import load_sae
from saerepro.sections import batchtopk
from saerepro.training.cached_jobs import load_run, train_cached_sae
from saerepro.training.family import FamilyMember, load_family, member_name, write_family_index
from saerepro.training.sparsity_control import SparsityController, penalty_name


def test_controller_raises_the_penalty_above_target_and_freezes():
    control = SparsityController("l1", target_l0=10, initial=1.0, freeze_step=3, rate=0.1)
    control.observe(0, 20.0)  # twice the target: error log 2
    assert control.value == pytest.approx(2**0.1)
    control.observe(1, 20.0)
    control.observe(2, 0.0)  # smoothed L0 still above target: keeps rising
    assert control.coefficients()["l1"] > 2**0.2
    frozen = control.value
    control.observe(3, 0.0)
    assert control.value == frozen and len(control.history) == 4


def test_controller_error_is_clipped_and_the_proportional_term_leaves_at_the_freeze():
    control = SparsityController(
        "l0", target_l0=10, initial=1.0, freeze_step=1, rate=0.1, gain=2.0, smoothing=0.0
    )
    control.observe(0, 1000.0)  # log ratio 4.6, clipped to 1
    assert control.value == pytest.approx(torch.e ** (0.1 + 2.0))
    control.observe(1, 1000.0)  # frozen: only the integral remains
    assert control.value == pytest.approx(torch.e**0.1)
    with pytest.raises(ParamError, match="gain"):
        SparsityController("l0", 10, 1.0, 5, gain=-1.0)


@pytest.mark.parametrize("architecture", ["standard", "jumprelu"])
def test_calibration_starts_training_at_the_target_l0(activation_cache, architecture):
    from saerepro.training.decoder_bias import centre_decoder_bias
    from saerepro.training.sparsity_control import L0Calibration
    from saerepro.training.trainer import make_training_sae

    sae = make_training_sae(architecture, 0, d_in=activation_cache.d_model, d_sae=64)
    batch = activation_cache.read(0, 512)
    calibrate = L0Calibration(target_l0=8.0)
    centre_decoder_bias(1, sae, batch)
    calibrate(1, sae, batch)  # only the first step initialises
    assert not sae.b_dec.any()
    untouched = float((sae.encode(batch) != 0).sum(-1).float().mean())
    centre_decoder_bias(0, sae, batch)
    assert torch.allclose(sae.b_dec, batch.mean(0), atol=1e-5)
    calibrate(0, sae, batch)
    l0 = float((sae.encode(batch) != 0).sum(-1).float().mean())
    assert abs(l0 - 8.0) < 0.5 and abs(untouched - 8.0) > 4
    with pytest.raises(ParamError, match="target_l0"):
        L0Calibration(target_l0=64.0)(0, sae, batch)


def test_controller_and_penalty_names_are_checked():
    with pytest.raises(ParamError, match="name"):
        SparsityController("l2", 10, 1.0, 5)
    with pytest.raises(ParamError, match="target_l0"):
        SparsityController("l0", 0, 1.0, 5)
    assert penalty_name("jumprelu") == "l0" and penalty_name("standard") == "l1"
    with pytest.raises(ParamError, match="architecture"):
        penalty_name("topk")


def test_centred_decoder_bias_starts_training_at_the_spread_not_the_mean(
    activation_cache, cached_job, tmp_path
):
    from dataclasses import replace

    from saerepro.data.activations import ActivationStore

    shifted = tmp_path / "shifted"
    shifted.mkdir()
    for file in activation_cache.folder.iterdir():  # the same cache, every row moved by +3
        data = file.read_bytes()
        (shifted / file.name).write_bytes(data)
    for name, _ in ActivationStore(shifted).index.shards:
        rows = np.load(shifted / name)
        np.save(shifted / name, (rows.astype(np.float32) + 3).astype(np.float16))
    job = replace(cached_job(activation_cache, tmp_path / "plain"), train_dir=str(shifted))
    job = replace(job, settings=replace(job.settings, total_samples=600))
    plain = train_cached_sae(job)
    centred = train_cached_sae(
        replace(job, checkpoint=str(tmp_path / "centred"), centre_decoder_bias=True)
    )
    assert centred.mse_losses[0] < 0.2 * plain.mse_losses[0]


@pytest.mark.parametrize("architecture", ["standard", "jumprelu"])
def test_penalty_based_saes_are_tuned_toward_the_target_l0(
    activation_cache, cached_job, tmp_path, architecture
):
    from dataclasses import replace

    from saerepro.training.cached_jobs import PenaltyTarget

    cfg = {"d_sae": 32} | ({"jumprelu_bandwidth": 0.05} if architecture == "jumprelu" else {})
    tuned = replace(
        cached_job(activation_cache, tmp_path / architecture),
        architecture=architecture,
        sae_cfg=cfg,
        penalty=PenaltyTarget(target_l0=4.0, initial=0.1, rate=0.03),
    )
    tuned = replace(tuned, settings=replace(tuned.settings, total_samples=18000))
    run = train_cached_sae(tuned)
    assert run.final_coefficient == run.coefficients[-1] != pytest.approx(0.1)
    sae = load_sae(tmp_path / architecture)
    l0 = float((sae.encode(activation_cache.read(0, 600)) != 0).sum(-1).float().mean())
    assert 2.0 < l0 < 8.0  # near the target of 4; untuned it sits near 14-24
    assert load_run(tmp_path / architecture).final_coefficient == run.final_coefficient


@pytest.fixture(scope="module")
def batchtopk_sae(activation_cache, cached_job, tmp_path_factory):
    folder = tmp_path_factory.mktemp("family") / member_name(32, 3, 0)
    train_cached_sae(cached_job(activation_cache, folder, k=3))
    return folder


def test_batch_level_codes_keep_exactly_n_times_k(activation_cache, batchtopk_sae):
    sae = load_sae(batchtopk_sae)
    x = activation_cache.read(0, 60)
    codes = batch_level_codes(sae, x, k=3)
    assert int((codes > 0).sum()) == 180
    scores = pre_activations(sae, x)
    kept = codes > 0
    assert scores[kept].min() >= scores[~kept].max()  # the largest values, none skipped


def test_threshold_inference_tracks_batch_selection(activation_cache, batchtopk_sae):
    sae = load_sae(batchtopk_sae)
    result = compare_inference(sae, activation_cache.read(0, 600), k=3, batch_size=60)
    assert result.l0_batch == pytest.approx(3.0)
    assert result.theta_eq8 > 0 and result.theta_saved > 0
    # this 32-latent SAE trains 100 steps: over init seeds 0-4 its threshold keeps 5.7-6.5
    # latents per sample at k = 3 (overlap 0.47-0.53); the bounds say it tracks, not matches
    assert 1.5 < result.l0_per_sample < 9 and 0.3 < result.overlap <= 1
    counts = active_latents_per_sample(sae, activation_cache.read(0, 600), batch_size=100)
    assert counts.float().mean() == pytest.approx(result.l0_per_sample)
    with pytest.raises(ParamError, match="batch_size"):
        compare_inference(sae, activation_cache.read(0, 10), k=3, batch_size=60)


def test_family_index_round_trip_and_refuses_missing_members(batchtopk_sae):
    root = batchtopk_sae.parent
    member = FamilyMember(batchtopk_sae.name, 32, 3, 0, batchtopk_sae.name)
    write_family_index(root, [member], {"tier": "test"})
    family = load_family(root)
    assert family.members == (member,) and family.trained_on == {"tier": "test"}
    assert family.widths() == [member] and family.seeds_of_width(32) == [member]
    assert family.load(member.name).cfg.d_sae == 32
    with pytest.raises(ParamError, match="name"):
        family.member("nope")
    with pytest.raises(FileNotFoundError, match="ghost"):
        write_family_index(root, [FamilyMember("ghost", 64, 3, 0, "ghost")], {})
    with pytest.raises(FileNotFoundError, match="dvc repro batchtopk"):
        load_family(root / "elsewhere")


def test_section_params_every_tier_and_the_sae_list():
    for tier in ("smoke", "cpu", "paper"):
        params = batchtopk.load(tier)
        specs = params.specs()
        names = [s.name for s in specs]
        assert len(names) == len(set(names))
        n_arch = len(params.architectures)
        assert len(specs) == n_arch * (len(params.widths) + len(params.ks) - 1) + 1
        family = params.family()
        assert [m.d_sae for m in family if m.seed == params.seed] == list(params.widths)
        assert [m.seed for m in family if m.d_sae == params.fixed_width] == [0, 1]
    paper = batchtopk.load("paper")
    assert paper.fixed_width == 16384 and paper.recipe.train_tokens == 10**9


def test_paper_tier_gpt2_series_is_the_documented_override(tmp_path):
    """CU A.3's GPT-2 small layer-8 series: the override params.yaml documents, applied."""
    import yaml
    from saerepro.core.paths import repo_path
    from saerepro.data import backbone

    raw = yaml.safe_load(repo_path("params.yaml").read_text())
    assert "backbone.paper.model=gpt2" in repo_path("params.yaml").read_text()
    raw["backbone"]["paper"].update(model="gpt2", layer=8)
    raw["batchtopk"]["paper"].update(widths=[3072, 6144, 12288, 24576], fixed_width=12288)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    gpt2 = backbone.load("paper", str(tmp_path / "params.yaml"))
    series = batchtopk.load("paper", str(tmp_path / "params.yaml"))
    assert (gpt2.model, gpt2.layer) == ("gpt2", 8)
    assert series.widths[-1] == 24576 and len(series.family()) == 5
    gemma = backbone.load("paper")
    assert (gemma.model, gemma.layer) == ("google/gemma-2-2b", 12)


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"widths": (32, 64, 96, 128)}, "widths"),
        ({"widths": (32, 64, 128)}, "widths"),
        ({"fixed_width": 100}, "fixed_width"),
        ({"ks": (4, 16)}, "ks"),
        ({"architectures": ("fast_batchtopk", "jumprelu")}, "architectures"),
        ({"second_seed": 0}, "second_seed"),
    ],
)
def test_bad_section_params_are_named(change, param):
    values = {**batchtopk.load("smoke").__dict__, **change}
    with pytest.raises(ParamError, match=param):
        batchtopk.BatchTopKParams(**values)


def test_jobs_put_family_members_in_the_family_folder(tmp_path):
    params = batchtopk.load("smoke")
    pairs = params.jobs("cache", tmp_path / "family", tmp_path / "other")
    family = {m.name for m in params.family()}
    for spec, job_ in pairs:
        assert (spec.name in family) == job_.checkpoint.startswith(str(tmp_path / "family"))
        assert (job_.penalty is not None) == (spec.architecture in ("jumprelu", "standard"))
        assert ("k" in job_.sae_cfg) == (job_.penalty is None)
        assert job_.centre_decoder_bias == params.recipe.centre_decoder_bias
    assert pairs[0][0].d_sae == max(params.widths)
