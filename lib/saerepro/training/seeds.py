"""Seeds derived from an SAE's identity, so that SAEs meant to be independent are.

SAELens fills the decoder row by row from torch's generator: seeded alike, a 1024-latent SAE
starts with the 512-latent SAE's initial rows as its first half. Every LLM SAE therefore takes
its initial weights and its batch order from a seed derived from its width and its seed index:
SAEs of different widths, or of different seed indices, start and read independently, while
SAEs that a comparison pairs on purpose (the architectures, or the k values, at one width and
seed index) share both.
"""

from __future__ import annotations

import hashlib

from saerepro.core.checks import require

SEED_BITS = 31


def derived_seed(purpose: str, d_sae: int, seed: int) -> int:
    """A seed for ``purpose`` (``init`` or ``data``) of the SAE of width ``d_sae`` and seed
    index ``seed``: a hash of the three, stable across runs, machines and Python versions."""
    require(purpose in ("init", "data"), "purpose", "init or data", purpose)
    require(d_sae >= 1, "d_sae", "an integer >= 1", d_sae)
    require(seed >= 0, "seed", "an integer >= 0", seed)
    digest = hashlib.sha256(f"saerepro|{purpose}|d_sae={d_sae}|seed={seed}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % (1 << SEED_BITS)


def init_seed(d_sae: int, seed: int) -> int:
    """The torch seed an SAE's initial weights are drawn with."""
    return derived_seed("init", d_sae, seed)


def data_seed(d_sae: int, seed: int) -> int:
    """The seed of an SAE's batch order over the activation cache."""
    return derived_seed("data", d_sae, seed)
