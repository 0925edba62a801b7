import math

import pytest
from saerepro.core.checks import ParamError
from saerepro.evals.heldout import heldout_metrics
from saerepro.saes.checkpoints import load_sae
from saerepro.training.cached_jobs import CachedSAEJob, train_cached_sae
from saerepro.training.fixed_penalty import FixedPenalty, coefficient_for_l0, coefficient_grid
from saerepro.training.trainer import TrainSettings


def test_the_coefficient_for_an_l0_is_interpolated_in_log_log_space():
    coefficients = coefficient_grid(0.5, 8.0, 5)
    assert coefficients == pytest.approx([0.5, 1.0, 2.0, 4.0, 8.0])
    l0s = [200 / c for c in coefficients]  # L0 = 200 / c exactly: a straight line in log-log
    assert coefficient_for_l0(coefficients, l0s, 80.0) == pytest.approx(2.5)
    assert coefficient_for_l0(coefficients[::-1], l0s[::-1], 400.0) == pytest.approx(0.5)
    with pytest.raises(ParamError, match=r"target_l0=1000.0 .*\[25, 400\]"):
        coefficient_for_l0(coefficients, l0s, 1000.0)
    with pytest.raises(ParamError, match="falling as the coefficient grows"):
        coefficient_for_l0([1.0, 2.0, 4.0], [50.0, 60.0, 10.0], 30.0)


def test_a_fixed_penalty_sets_saelens_coefficient_and_warm_up():
    penalty = FixedPenalty(3.0, warmup_fraction=0.1)
    assert penalty.sae_cfg("standard", 1000) == {"l1_coefficient": 3.0, "l1_warm_up_steps": 100}
    assert penalty.sae_cfg("jumprelu", 50) == {"l0_coefficient": 3.0, "l0_warm_up_steps": 5}
    with pytest.raises(ParamError, match="architecture"):
        penalty.sae_cfg("topk", 10)
    with pytest.raises(ParamError, match="coefficient"):
        FixedPenalty(math.inf)
    with pytest.raises(ParamError, match="warmup_fraction"):
        FixedPenalty(1.0, warmup_fraction=1.0)


def test_a_larger_fixed_l1_coefficient_gives_a_sparser_relu_sae(tmp_path, activation_cache):
    l0s = []
    for coefficient in (0.3, 3.0):
        job = CachedSAEJob(
            train_dir=str(activation_cache.folder),
            architecture="standard",
            sae_cfg={"d_sae": 32},
            settings=TrainSettings(6000, 60, lr=1e-2, lr_decay_fraction=0.2),
            seed=0,
            checkpoint=str(tmp_path / f"c{coefficient}"),
            penalty=FixedPenalty(coefficient),
            centre_decoder_bias=True,
        )
        run = train_cached_sae(job)
        assert run.final_coefficient is None and run.coefficients == []
        l0s.append(heldout_metrics(load_sae(job.checkpoint), activation_cache.read()).l0)
    assert l0s[1] < 0.7 * l0s[0]
