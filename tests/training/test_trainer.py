import pytest
import torch
from saerepro.core.checks import ParamError
from saerepro.core.parallel import map_jobs
from saerepro.saes.checkpoints import load_training_sae, save_training_sae
from saerepro.toy.jobs import ToySAEJob, ground_truth_sae, train_toy_sae
from saerepro.toy.model import ToyModelConfig
from saerepro.training.trainer import (
    TrainSettings,
    make_training_sae,
    train_sae,
)


def test_ground_truth_sae_reconstructs_exactly_when_k_covers_the_active_features(paper_toy):
    sample = paper_toy.sample(256, torch.Generator().manual_seed(0))
    active = int((sample.feature_acts > 0).sum())
    enough = -(-active // 256)  # BatchTopK keeps k * batch values: enough to keep every one
    for k in (enough, 50):
        sae = ground_truth_sae(paper_toy, k)
        with torch.no_grad():
            recon = sae.decode(sae.encode(sample.inputs))
        assert torch.allclose(recon, sample.inputs, atol=1e-5), k
    sae = ground_truth_sae(paper_toy, 2)
    with torch.no_grad():
        assert not torch.allclose(sae.decode(sae.encode(sample.inputs)), sample.inputs, atol=1e-3)


def test_same_seed_same_initial_sae():
    a = make_training_sae("batchtopk", seed=3, d_in=12, d_sae=8, k=2)
    b = make_training_sae("batchtopk", seed=3, d_in=12, d_sae=8, k=2)
    c = make_training_sae("batchtopk", seed=4, d_in=12, d_sae=8, k=2)
    assert torch.equal(a.W_enc, b.W_enc) and not torch.equal(a.W_enc, c.W_enc)


def test_unknown_architecture_is_named():
    with pytest.raises(ParamError, match=r"architecture='nope' .*batchtopk"):
        make_training_sae("nope", seed=0, d_in=4, d_sae=4)


def test_train_settings_are_validated():
    with pytest.raises(ParamError, match="total_samples"):
        TrainSettings(total_samples=10, batch_size=64)
    with pytest.raises(ParamError, match="lr"):
        TrainSettings(total_samples=64, batch_size=64, lr=0)
    with pytest.raises(ParamError, match="lr_decay_fraction"):
        TrainSettings(total_samples=64, batch_size=64, lr_decay_fraction=1.0)
    assert TrainSettings(6400, 64, lr_decay_fraction=0.2).lr_decay_steps == 20


def test_lr_decays_linearly_to_zero_over_the_last_fraction(small_toy):
    sae = make_training_sae("fast_batchtopk", seed=0, d_in=12, d_sae=8, k=3)
    settings = TrainSettings(256 * 20, 256, lr=1e-3, record_every=1, lr_decay_fraction=0.25)
    result = train_sae(sae, small_toy.batches(256, seed=1), settings, progress=False)
    assert result.lrs[:15] == pytest.approx([1e-3] * 15)
    assert result.lrs[15:] == pytest.approx([1e-3 * (1 - i / 5) for i in range(5)])


def test_training_records_losses_runs_hooks_and_learns(small_toy, capfd):
    sae = make_training_sae("batchtopk", seed=0, d_in=12, d_sae=8, k=3)
    seen = []
    settings = TrainSettings(total_samples=256 * 60, batch_size=256, lr=3e-3, record_every=20)
    result = train_sae(
        sae,
        small_toy.batches(256, seed=1),
        settings,
        hooks=[lambda step, _sae, _batch: seen.append(step)],
        progress=False,
    )
    assert seen == list(range(60))
    assert result.loss_steps == [0, 20, 40]
    assert result.mse_losses[-1] < 0.5 * result.mse_losses[0]
    assert "Training SAE" not in capfd.readouterr().err


def test_save_and_load_round_trip(tmp_path):
    sae = make_training_sae("batchtopk", seed=0, d_in=12, d_sae=8, k=3)
    sae.topk_threshold.fill_(0.25)
    save_training_sae(sae, tmp_path / "sae")
    loaded = load_training_sae(tmp_path / "sae")
    assert torch.equal(loaded.W_dec, sae.W_dec) and float(loaded.topk_threshold) == 0.25
    assert [p.name for p in tmp_path.iterdir()] == ["sae"], "no temp folder left behind"
    with pytest.raises(FileNotFoundError, match="no SAE checkpoint"):
        load_training_sae(tmp_path / "absent")


def _job(tmp_path, seed):
    cfg = ToyModelConfig(n_features=8, d_model=12, firing_prob_min=0.1, firing_prob_span=0.4)
    settings = TrainSettings(total_samples=128 * 30, batch_size=128)
    return ToySAEJob(
        cfg, k=3, d_sae=8, settings=settings, seed=seed, checkpoint=str(tmp_path / f"seed{seed}")
    )


def test_toy_jobs_are_deterministic_across_worker_counts(tmp_path):
    inline = map_jobs(
        train_toy_sae, [_job(tmp_path / "a", 0), _job(tmp_path / "a", 1)], workers=1, desc="inline"
    )
    pooled = map_jobs(
        train_toy_sae, [_job(tmp_path / "b", 0), _job(tmp_path / "b", 1)], workers=2, desc="pooled"
    )
    assert [r.seed for r in pooled] == [0, 1], "results come back in job order"
    for a, b in zip(inline, pooled, strict=True):
        assert a.mse_losses == b.mse_losses
        assert torch.equal(
            load_training_sae(a.checkpoint).W_dec, load_training_sae(b.checkpoint).W_dec
        )
    assert inline[0].mse_losses != inline[1].mse_losses, "different seeds, different runs"
