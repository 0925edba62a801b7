"""SAE stitching ("Canonical Units" §4, Eq. 5, A.4-A.7): inserting and swapping latents between
a smaller and a larger SAE, and the novel / reconstruction split of the larger SAE's latents.

Everything works on *dense code matrices* ``[n, d_sae]`` of the two SAEs on the same inputs and on
their decoders (:class:`Decoder`), so it applies to any pair of SAEs and is checked on hand-built
ones. MSE is the squared error summed over the model dimension, averaged over inputs (the paper's
Table 2 convention).

Stitched reconstruction (Eq. 5), with latent sets L0 of the smaller SAE and L1 of the larger::

    x_hat = a * b0_dec + (1 - a) * b1_dec + sum_{l in L0} W0_l f0_l(x) + sum_{l in L1} W1_l f1_l(x),
    a = |L0| / (|L0| + |L1|)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from sae_lens.saes.sae import SAE

from saerepro.core.checks import require
from saerepro.metrics import unit_rows


@dataclass(frozen=True)
class Decoder:
    """What stitching needs of one SAE: its decoder rows ``[d_sae, d_in]`` and decoder bias."""

    weight: torch.Tensor
    bias: torch.Tensor

    def __post_init__(self) -> None:
        require(self.weight.ndim == 2, "weight", "a [d_sae, d_in] matrix", tuple(self.weight.shape))
        require(
            self.bias.shape == (self.weight.shape[1],),
            "bias",
            f"a vector of d_in={self.weight.shape[1]}",
            tuple(self.bias.shape),
        )

    @classmethod
    def of(cls, sae: SAE) -> Decoder:
        """The decoder of a SAELens SAE, detached, in float32."""
        return cls(sae.W_dec.detach().float(), sae.b_dec.detach().float())

    @property
    def d_sae(self) -> int:
        return self.weight.shape[0]

    def unit_rows(self) -> torch.Tensor:
        return unit_rows(self.weight)


def _mask(latents: torch.Tensor | Sequence[int] | None, d_sae: int, name: str) -> torch.Tensor:
    """A boolean mask over ``d_sae`` latents from a mask, a list of indices, or None (all)."""
    if latents is None:
        return torch.ones(d_sae, dtype=torch.bool)
    latents = torch.as_tensor(latents)
    if latents.dtype == torch.bool:
        require(latents.shape == (d_sae,), name, f"a mask of {d_sae} latents", tuple(latents.shape))
        return latents
    require(
        latents.numel() == 0 or (int(latents.min()) >= 0 and int(latents.max()) < d_sae),
        name,
        f"latent indices in 0..{d_sae - 1}",
        latents.tolist(),
    )
    mask = torch.zeros(d_sae, dtype=torch.bool)
    mask[latents.long()] = True
    return mask


def bias_weight(n_small: int, n_large: int) -> float:
    """Eq. 5's α = |L0| / (|L0| + |L1|): the smaller SAE's share of the mixed decoder bias."""
    require(n_small + n_large > 0, "latents", "at least one latent in L0 or L1", 0)
    return n_small / (n_small + n_large)


def stitched_reconstruction(
    small_codes: torch.Tensor,
    small: Decoder,
    large_codes: torch.Tensor,
    large: Decoder,
    small_latents: torch.Tensor | Sequence[int] | None = None,
    large_latents: torch.Tensor | Sequence[int] | None = (),
) -> torch.Tensor:
    """Eq. 5: the reconstruction from latents ``small_latents`` (default: all) of the smaller SAE
    and ``large_latents`` (default: none) of the larger, with the decoder biases mixed by α."""
    keep0 = _mask(small_latents, small.d_sae, "small_latents")
    keep1 = _mask(large_latents, large.d_sae, "large_latents")
    alpha = bias_weight(int(keep0.sum()), int(keep1.sum()))
    bias = alpha * small.bias + (1 - alpha) * large.bias
    return (
        bias
        + small_codes[:, keep0] @ small.weight[keep0]
        + large_codes[:, keep1] @ large.weight[keep1]
    )


def per_sample_mse(x: torch.Tensor, reconstruction: torch.Tensor) -> torch.Tensor:
    """Squared error summed over the model dimension, one value per input."""
    return (x - reconstruction).pow(2).sum(-1)


@dataclass(frozen=True)
class MaxCosine:
    """For every latent of one SAE, its most similar decoder direction in another."""

    value: torch.Tensor  # [d_sae] max cosine similarity
    index: torch.Tensor  # [d_sae] the other SAE's latent that attains it


def cosine_matrix(a: Decoder, b: Decoder) -> torch.Tensor:
    """Decoder cosine similarities ``[a.d_sae, b.d_sae]``."""
    return a.unit_rows() @ b.unit_rows().T


def max_cosines(of: Decoder, to: Decoder) -> MaxCosine:
    """Each latent of ``of``: its max decoder cosine over every latent of ``to`` (§4's metric)."""
    value, index = cosine_matrix(of, to).max(dim=1)
    return MaxCosine(value, index)


def is_novel(max_cosine: torch.Tensor, threshold: float) -> torch.Tensor:
    """Novel latents: max cosine to the smaller SAE below ``threshold``; the rest reconstruct."""
    require(-1 <= threshold <= 1, "threshold", "a cosine in [-1, 1]", threshold)
    return max_cosine < threshold


@torch.no_grad()
def insertion_delta_mse(
    x: torch.Tensor,
    small_codes: torch.Tensor,
    small: Decoder,
    large_codes: torch.Tensor,
    large: Decoder,
    chunk: int = 4096,
) -> torch.Tensor:
    """ΔMSE of inserting each larger-SAE latent alone into the full smaller SAE (Fig. 4, 21).

    Vectorised: with e the smaller SAE's error and c the bias shift (1 - α)(b1 - b0), inserting
    latent j gives error e - c - f_j W_j, so ΔMSE_j = mean(||e - c||² - ||e||²)
    + mean(f_j² ||W_j||² - 2 f_j (e - c)·W_j), one matmul for every j at once.
    """
    require(len(x) == len(small_codes) == len(large_codes), "codes", "one row per input", len(x))
    require(chunk >= 1, "chunk", "an integer >= 1", chunk)
    alpha = bias_weight(small.d_sae, 1)
    shift = (1 - alpha) * (large.bias - small.bias)
    row_norms = large.weight.pow(2).sum(1)
    total = torch.zeros(large.d_sae, dtype=torch.float64, device=x.device)
    bias_change = 0.0
    for rows in torch.split(torch.arange(len(x), device=x.device), chunk):
        error = x[rows] - small.bias - small_codes[rows] @ small.weight
        shifted = error - shift
        bias_change += float((shifted.pow(2).sum() - error.pow(2).sum()).double())
        f = large_codes[rows]
        total += (f.pow(2) * row_norms - 2 * f * (shifted @ large.weight.T)).double().sum(0)
    return ((total + bias_change) / len(x)).float().cpu()


@dataclass(frozen=True)
class ROC:
    """How well "max cosine below θ" predicts "inserting the latent lowers MSE" (Fig. 16)."""

    thresholds: torch.Tensor  # ascending
    true_positive_rate: torch.Tensor
    false_positive_rate: torch.Tensor
    auc: float  # NaN when every latent has the same outcome
    best_threshold: float  # the θ of largest TPR - FPR (Youden's J); NaN as auc


def insertion_roc(max_cosine: torch.Tensor, lowers_mse: torch.Tensor) -> ROC:
    """The ROC of predicting ``lowers_mse`` by ``max_cosine < θ`` over every θ in the data."""
    require(
        max_cosine.ndim == 1 and max_cosine.shape == lowers_mse.shape and len(max_cosine) > 0,
        "lowers_mse",
        f"one flag per latent ({tuple(max_cosine.shape)})",
        tuple(lowers_mse.shape),
    )
    positives, negatives = int(lowers_mse.sum()), int((~lowers_mse).sum())
    order = torch.argsort(max_cosine)
    sorted_cos, sorted_pos = max_cosine[order], lowers_mse[order]
    # θ just above each distinct value: everything up to it is predicted novel
    last_of_value = torch.cat([sorted_cos[1:] != sorted_cos[:-1], torch.tensor([True])])
    tpr = torch.cumsum(sorted_pos.double(), 0)[last_of_value] / max(positives, 1)
    fpr = torch.cumsum((~sorted_pos).double(), 0)[last_of_value] / max(negatives, 1)
    values = sorted_cos[last_of_value]
    upper = torch.cat([values[1:], values[-1:] + 1e-6])
    thresholds = (values + upper) / 2
    tpr = torch.cat([torch.zeros(1, dtype=tpr.dtype), tpr])
    fpr = torch.cat([torch.zeros(1, dtype=fpr.dtype), fpr])
    thresholds = torch.cat([values[:1] - 1e-6, thresholds])
    if positives == 0 or negatives == 0:
        return ROC(thresholds, tpr.float(), fpr.float(), math.nan, math.nan)
    auc = float(torch.trapezoid(tpr, fpr))
    best = int(torch.argmax(tpr - fpr))
    return ROC(thresholds, tpr.float(), fpr.float(), auc, float(thresholds[best]))


@dataclass(frozen=True)
class SwapGroup:
    """A connected component of the bipartite cosine graph: smaller-SAE latents that the
    larger-SAE latents replace."""

    small: tuple[int, ...]
    large: tuple[int, ...]


def swap_groups(cosines: torch.Tensor, threshold: float) -> list[SwapGroup]:
    """Connected components, with at least one latent on each side, of the bipartite graph whose
    edges join smaller latent i and larger latent j where ``cosines[i, j] > threshold``.

    Ordered by their smallest smaller-SAE latent, so the result is deterministic.
    """
    require(-1 <= threshold <= 1, "threshold", "a cosine in [-1, 1]", threshold)
    d_small = cosines.shape[0]
    parent = list(range(d_small + cosines.shape[1]))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in (cosines > threshold).nonzero().tolist():
        a, b = root(i), root(d_small + j)
        if a != b:
            parent[max(a, b)] = min(a, b)
    members: dict[int, tuple[list[int], list[int]]] = {}
    for node in range(len(parent)):
        small_side, large_side = members.setdefault(root(node), ([], []))
        (small_side if node < d_small else large_side).append(
            node if node < d_small else node - d_small
        )
    groups = [SwapGroup(tuple(s), tuple(g)) for s, g in members.values() if s and g]
    return sorted(groups, key=lambda group: group.small[0])


@dataclass(frozen=True)
class PathStep:
    """One point of the small → large interpolation (Fig. 5, 22)."""

    phase: str  # "start", "add novel" or "swap group"
    n_small: int  # latents of the smaller SAE still in L0
    n_large: int  # latents of the larger SAE in L1
    mse: float
    l0: float


class _StitchState:
    """Running sums of the stitched residual x - Σ W f, so each step costs only its active rows."""

    def __init__(self, x: torch.Tensor, small_codes: torch.Tensor, small: Decoder) -> None:
        self.residual = (x - small_codes @ small.weight).double()
        self.sum_sq = float(self.residual.pow(2).sum())
        self.sum = self.residual.sum(0)
        self.n = len(x)

    def add(self, codes: torch.Tensor, rows: torch.Tensor, sign: float) -> None:
        """Add (sign +1) or remove (-1) the latents ``rows`` of a decoder with codes ``codes``."""
        active = (codes != 0).any(1).nonzero().squeeze(1)
        if active.numel() == 0:
            return
        old = self.residual[active]
        new = old - sign * (codes[active].double() @ rows.double())
        self.residual[active] = new
        self.sum_sq += float(new.pow(2).sum() - old.pow(2).sum())
        self.sum += (new - old).sum(0)

    def mse(self, bias: torch.Tensor) -> float:
        bias = bias.double()
        return (self.sum_sq - 2 * float(bias @ self.sum) + self.n * float(bias @ bias)) / self.n


@torch.no_grad()
def interpolation_path(
    x: torch.Tensor,
    small_codes: torch.Tensor,
    small: Decoder,
    large_codes: torch.Tensor,
    large: Decoder,
    novel: Sequence[int],
    groups: Sequence[SwapGroup],
) -> list[PathStep]:
    """Start from the smaller SAE, add the ``novel`` latents one at a time in the given order,
    then swap each group in turn; MSE and mean L0 (Eq. 5) after every step."""
    fires_small = (small_codes != 0).sum(0).double()
    fires_large = (large_codes != 0).sum(0).double()
    in_small = torch.ones(small.d_sae, dtype=torch.bool)
    in_large = torch.zeros(large.d_sae, dtype=torch.bool)
    state = _StitchState(x, small_codes, small)

    def step(phase: str) -> PathStep:
        n0, n1 = int(in_small.sum()), int(in_large.sum())
        alpha = bias_weight(n0, n1)
        l0 = float(fires_small[in_small].sum() + fires_large[in_large].sum()) / len(x)
        mse = state.mse(alpha * small.bias + (1 - alpha) * large.bias)
        return PathStep(phase, n0, n1, mse, l0)

    path = [step("start")]
    for j in novel:
        require(not in_large[j], "novel", "distinct larger-SAE latents", j)
        state.add(large_codes[:, [j]], large.weight[[j]], +1)
        in_large[j] = True
        path.append(step("add novel"))
    for group in groups:
        small_ids, large_ids = list(group.small), list(group.large)
        require(
            bool(in_small[small_ids].all()) and not bool(in_large[large_ids].any()),
            "groups",
            "disjoint groups, none of whose larger latents are among the novel ones",
            group,
        )
        state.add(small_codes[:, small_ids], small.weight[small_ids], -1)
        state.add(large_codes[:, large_ids], large.weight[large_ids], +1)
        in_small[small_ids] = False
        in_large[large_ids] = True
        path.append(step("swap group"))
    return path


def mse_where_active(
    sample_mse: torch.Tensor, large_codes: torch.Tensor, latents: Sequence[int]
) -> tuple[float, float]:
    """Mean over ``latents`` of an SAE's per-input MSE on inputs where the larger SAE's latent is
    active, and where it is not (Fig. 14); latents that never fire (or always do) are skipped."""
    active_means, inactive_means = [], []
    for j in latents:
        active = large_codes[:, j] != 0
        if 0 < int(active.sum()) < len(active):
            active_means.append(float(sample_mse[active].mean()))
            inactive_means.append(float(sample_mse[~active].mean()))
    require(len(active_means) > 0, "latents", "at least one that fires on some inputs", 0)
    return sum(active_means) / len(active_means), sum(inactive_means) / len(inactive_means)


def reconstruction_share(of: Decoder, to: Decoder, threshold: float) -> float:
    """Fraction of ``of``'s latents whose max decoder cosine to ``to`` reaches ``threshold``
    (the reconstruction latents of Fig. 19)."""
    return float((~is_novel(max_cosines(of, to).value, threshold)).double().mean())


@torch.no_grad()
def dense_codes(sae: SAE, x: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
    """An SAE's latent activations ``[n, d_sae]`` on ``x`` (its per-sample inference encoder)."""
    sae.eval()
    return torch.cat([sae.encode(part) for part in torch.split(x, chunk)])
