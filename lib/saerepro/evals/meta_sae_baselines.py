"""What a meta-SAE's numbers should be compared with (CU §5, Fig. 6): the linear ceiling of an
undercomplete code (PCA with as many components as meta-latents), a k-sparse code over that
basis, and a null of random unit directions with the same row count.

A meta-SAE with fewer meta-latents than the decoder has dimensions cannot explain more variance
than the PCA with that many components does; for isotropic unit rows in d dimensions, m
components explain about m / d of it. Numbers below those ceilings measure the regime, not the
meta-SAE.
"""

from __future__ import annotations

import torch

from saerepro.core.checks import require
from saerepro.metrics import unit_rows


def _centred(directions: torch.Tensor) -> torch.Tensor:
    return (directions - directions.mean(0)).double()


def principal_basis(directions: torch.Tensor, n_components: int) -> torch.Tensor:
    """The top ``n_components`` principal directions of the rows, ``[n_components, d]``."""
    require(
        1 <= n_components <= min(directions.shape),
        "n_components",
        f"in 1..{min(directions.shape)}",
        n_components,
    )
    _, _, vh = torch.linalg.svd(_centred(directions), full_matrices=False)
    return vh[:n_components]


def pca_variance_explained(directions: torch.Tensor, n_components: int) -> float:
    """Share of the rows' variance (around their mean) the top ``n_components`` explain."""
    singular = torch.linalg.svdvals(_centred(directions))
    require(
        1 <= n_components <= len(singular), "n_components", f"in 1..{len(singular)}", n_components
    )
    energy = singular.pow(2)
    return float(energy[:n_components].sum() / energy.sum())


def sparse_in_basis_variance_explained(
    directions: torch.Tensor, basis: torch.Tensor, k: int
) -> float:
    """Variance explained when each centred row keeps only its ``k`` largest coefficients in the
    orthonormal ``basis`` (a k-sparse code over the PCA basis: a reference point for a k-sparse
    meta-SAE of that width)."""
    require(1 <= k <= len(basis), "k", f"in 1..{len(basis)} (the basis size)", k)
    centred = _centred(directions)
    coefficients = centred @ basis.double().T
    top = coefficients.abs().topk(k, dim=1).indices
    kept = torch.zeros_like(coefficients).scatter(1, top, coefficients.gather(1, top))
    residual = (centred - kept @ basis.double()).pow(2).sum()
    return float(1 - residual / centred.pow(2).sum())


def random_unit_directions(n: int, d: int, seed: int) -> torch.Tensor:
    """``n`` unit directions drawn uniformly on the sphere in ``R^d``, seeded."""
    require(n >= 1 and d >= 1, "n, d", "integers >= 1", (n, d))
    generator = torch.Generator().manual_seed(seed)
    return unit_rows(torch.randn(n, d, generator=generator))


def null_max_cosines(reference: torch.Tensor, n_rows: int, seed: int) -> torch.Tensor:
    """Each of ``n_rows`` random unit directions' max cosine to the unit rows ``reference``:
    what Fig. 6's matches look like by chance alone."""
    null = random_unit_directions(n_rows, reference.shape[1], seed)
    return (null @ unit_rows(reference).T).max(dim=1).values
