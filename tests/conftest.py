"""Shared fixtures: a small, fast toy model; a small activation cache and SAE jobs on it."""

import json

import numpy as np
import pytest
import torch
from saerepro import metrics
from saerepro.data.activations import ActivationStore
from saerepro.toy.model import ToyModel, ToyModelConfig
from saerepro.training.cached_jobs import CachedSAEJob
from saerepro.training.trainer import TrainSettings


@pytest.fixture(autouse=True)
def _single_thread():
    """Unit tests run single-threaded, as the library's workers do."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def paper_toy() -> ToyModel:
    """The paper's toy model (50 features in R^100)."""
    return ToyModel(ToyModelConfig())


@pytest.fixture(scope="session")
def small_toy() -> ToyModel:
    return ToyModel(
        ToyModelConfig(n_features=8, d_model=12, firing_prob_min=0.1, firing_prob_span=0.4, seed=3)
    )


D_MODEL = 16


def write_cache(folder, rows: np.ndarray, shard_rows: int = 300):
    """A cache folder in the layout :mod:`saerepro.data.activations` writes (no model needed)."""
    folder.mkdir(parents=True)
    shards = []
    for i, start in enumerate(range(0, len(rows), shard_rows)):
        name = f"shard_{i:05d}.npy"
        np.save(folder / name, rows[start : start + shard_rows].astype(np.float16))
        shards.append([name, len(rows[start : start + shard_rows])])
    np.save(folder / "tokens.npy", np.zeros((len(rows) // 3, 4), dtype=np.int32))
    index = {
        "hook": "blocks.0.hook_resid_post",
        "layer": 0,
        "d_model": rows.shape[1],
        "context": 4,
        "n_tokens": len(rows),
        "shards": shards,
        "mean_sq_norm": float((rows.astype(np.float64) ** 2).sum(1).mean()),
    }
    (folder / "index.json").write_text(json.dumps(index))
    return ActivationStore(folder)


@pytest.fixture(scope="session")
def activation_cache(tmp_path_factory):
    """Sparse sums of 24 directions in R^16, 3 active per row: an SAE has something to find."""
    generator = torch.Generator().manual_seed(0)
    directions = metrics.unit_rows(torch.randn(24, D_MODEL, generator=generator))
    codes = torch.zeros(1200, 24)
    active = torch.rand(1200, 24, generator=generator).argsort(1)[:, :3]
    codes.scatter_(1, active, 1 + torch.rand(1200, 3, generator=generator))
    return write_cache(tmp_path_factory.mktemp("cache") / "train", (codes @ directions).numpy())


def _cached_job(cache, checkpoint, k=3, seed=0):
    return CachedSAEJob(
        train_dir=str(cache.folder),
        architecture="fast_batchtopk",
        sae_cfg={"d_sae": 32, "k": k},
        settings=TrainSettings(6000, 60, lr=1e-2, record_every=5, lr_decay_fraction=0.2),
        seed=seed,
        data_seed=seed,
        checkpoint=str(checkpoint),
    )


@pytest.fixture(scope="session")
def cached_job():
    """A builder of fast BatchTopK jobs: ``cached_job(cache, folder, k, seed)``."""
    return _cached_job
