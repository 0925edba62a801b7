"""Shared fixtures: a small, fast toy model."""

import pytest
import torch
from saerepro.toy import ToyModel, ToyModelConfig


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
