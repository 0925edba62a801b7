"""The activation store without a model: BOS rows mixed back in at their natural frequency."""

import dataclasses
import shutil

import numpy as np
import pytest
import torch
from saerepro.core.checks import ParamError
from saerepro.data.activations import ActivationStore
from saerepro.saes.checkpoints import load_sae
from saerepro.training.cached_jobs import train_cached_sae


def test_bos_rows_mix_in_at_their_natural_frequency(tmp_path, activation_cache, cached_job):
    with pytest.raises(FileNotFoundError, match=r"no bos\.npy"):
        activation_cache.bos_row()
    folder = tmp_path / "cache"
    shutil.copytree(activation_cache.folder, folder)
    bos = np.full(activation_cache.d_model, 7.0, dtype=np.float32)
    np.save(folder / "bos.npy", bos)
    store = ActivationStore(folder)
    assert store.bos_rows_per_batch(60) == 15  # context 4: one row in four
    batch = next(store.batches(60, seed=0, with_bos=True))
    is_bos = (batch == torch.from_numpy(bos) * store.scale).all(-1)
    assert int(is_bos.sum()) == 15
    with pytest.raises(ParamError, match="batch_size"):
        next(store.batches(3, seed=0, with_bos=True))
    job = dataclasses.replace(
        cached_job(store, tmp_path / "sae", k=3), train_dir=str(folder), with_bos=True
    )
    train_cached_sae(job)
    assert load_sae(job.checkpoint).cfg.metadata["bos_in_training"] is True
