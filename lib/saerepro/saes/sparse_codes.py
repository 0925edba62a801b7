"""Sparse latent codes: which latents are active in a batch, and encode/decode that touch only them.

A k-sparse SAE does one unavoidable dense step, the encoder matmul that scores every latent. After
selection only k latents per token matter, so the decoder, and every gradient, can be computed from
the active (token, latent) pairs alone. This module holds that selection and two autograd functions
whose backward passes do work proportional to the number of active pairs, not to the SAE's width.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import cached_property

import torch
import torch.nn.functional as F

SAMPLE_SIZE = 65_536
"""Scores sampled to bracket the batch threshold before the exact selection."""
_MARGIN_SIGMAS = 6.0


@dataclass(frozen=True, eq=False)
class SparseCodes:
    """Active (row, latent) pairs of a ``n_rows x n_latents`` code matrix, in row-major order.

    ``flat`` indexes the flattened matrix: ``flat = rows * n_latents + cols``.
    """

    flat: torch.Tensor
    n_rows: int
    n_latents: int

    @classmethod
    def from_pairs(cls, rows: torch.Tensor, cols: torch.Tensor, n_rows: int, n_latents: int):
        """Codes from row-major (row, latent) pairs."""
        return cls(rows * n_latents + cols, n_rows, n_latents)

    @cached_property
    def rows(self) -> torch.Tensor:
        return torch.div(self.flat, self.n_latents, rounding_mode="floor")

    @cached_property
    def cols(self) -> torch.Tensor:
        return self.flat - self.rows * self.n_latents

    @property
    def nnz(self) -> int:
        return self.flat.numel()

    @cached_property
    def row_starts(self) -> torch.Tensor:
        """Offset of each row's first pair (embedding_bag offsets)."""
        return _group_starts(self.rows, self.n_rows)

    @cached_property
    def by_latent(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(order that groups the pairs by latent, offset of each latent's first pair there)."""
        return torch.argsort(self.cols, stable=True), _group_starts(self.cols, self.n_latents)

    def gather(self, matrix: torch.Tensor) -> torch.Tensor:
        """Entries of a dense ``n_rows x n_latents`` matrix at the active pairs."""
        return matrix.reshape(-1).index_select(0, self.flat)

    @property
    def density(self) -> float:
        return self.nnz / max(1, self.n_rows * self.n_latents)

    def to_sparse(self, values: torch.Tensor) -> torch.Tensor:
        """A coalesced COO tensor with ``values`` at the active pairs."""
        return torch.sparse_coo_tensor(
            torch.stack([self.rows, self.cols]),
            values,
            (self.n_rows, self.n_latents),
            is_coalesced=True,
            check_invariants=False,
        )

    def to_dense(self, values: torch.Tensor) -> torch.Tensor:
        """A dense matrix with ``values`` at the active pairs and zeros elsewhere."""
        dense = values.new_zeros(self.n_rows * self.n_latents)
        dense[self.flat] = values
        return dense.view(self.n_rows, self.n_latents)

    def sum_rows_of(self, table: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Row r of the result is sum over r's pairs (r, j) of weight * table[j]."""
        return _bags(self.cols, table, self.row_starts, weights)

    def sum_latents_of(self, table: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Row j of the result is sum over j's pairs (r, j) of weight * table[r]."""
        order, starts = self.by_latent
        return _bags(self.rows[order], table, starts, weights[order])

    def sampled_products(self, left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
        """``left @ right.T`` at the active pairs only; ``right`` is ``n_latents x d``."""
        if self.nnz == 0:
            return left.new_zeros(0)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
            pattern = torch.sparse_csr_tensor(
                torch.cat([self.row_starts, self.row_starts.new_tensor([self.nnz])]),
                self.cols,
                left.new_zeros(self.nnz),
                (self.n_rows, self.n_latents),
                check_invariants=False,
            )
            return torch.sparse.sampled_addmm(pattern, left, right.T, beta=0.0).values()


def _group_starts(group: torch.Tensor, n_groups: int) -> torch.Tensor:
    """Where each group's first member sits once the members are ordered by group."""
    counts = torch.bincount(group, minlength=n_groups)
    return torch.cumsum(counts, 0) - counts


def _bags(indices: torch.Tensor, table: torch.Tensor, starts: torch.Tensor, weights: torch.Tensor):
    if indices.numel() == 0:
        return table.new_zeros(starts.numel(), table.shape[1])
    return F.embedding_bag(indices, table, starts, mode="sum", per_sample_weights=weights)


def batch_top(scores: torch.Tensor, n_keep: int) -> SparseCodes:
    """The ``n_keep`` largest positive scores of the whole batch (BatchTopK), without a full sort.

    Exact: a strided sample brackets the threshold from below, the scores above the bracket are
    gathered, and the threshold is their ``n_keep``-th largest. Scores tied with it are all kept.
    Fewer than ``n_keep`` positive scores: all of them are kept.
    """
    n_rows, n_latents = scores.shape
    flat = scores.reshape(-1)
    if n_keep <= 0:
        return SparseCodes(flat.new_zeros(0, dtype=torch.long), n_rows, n_latents)
    if flat.numel() <= SAMPLE_SIZE:  # small: the exact threshold directly
        index = _indices_at_least(flat, _kth_largest(flat, n_keep))
    else:
        index = _indices_at_least(flat, _lower_bracket(flat, n_keep, n_latents))
    if index.numel() < n_keep:  # the bracket missed (or too few positives): take every positive
        index = _indices_at_least(flat, 0.0)
    if index.numel() > n_keep:
        values = flat.index_select(0, index)
        index = index[values >= _kth_largest(values, n_keep)]
    return SparseCodes(index, n_rows, n_latents)


def _kth_largest(values: torch.Tensor, k: int) -> float:
    if k >= values.numel():
        return 0.0
    return torch.kthvalue(values, values.numel() - k + 1).values.item()


def _indices_at_least(flat: torch.Tensor, bound: float) -> torch.Tensor:
    """Ascending indices of the positive scores >= bound."""
    mask = flat > 0 if bound <= 0 else flat >= bound
    return torch.nonzero(mask).squeeze(1)


def _lower_bracket(flat: torch.Tensor, n_keep: int, n_latents: int) -> float:
    """A value that, with overwhelming probability, at least ``n_keep`` scores reach."""
    stride = max(1, flat.numel() // SAMPLE_SIZE)
    while stride > 1 and math.gcd(stride, n_latents) != 1:  # do not sample only some latents
        stride += 1
    sample = flat[::stride]
    expected = n_keep * sample.numel() / flat.numel()
    rank = math.ceil(expected + _MARGIN_SIGMAS * math.sqrt(expected) + 8)
    if rank >= sample.numel():
        return 0.0
    return torch.topk(sample, rank, sorted=False).values.min().item()


def row_top(scores: torch.Tensor, k: int) -> SparseCodes:
    """The ``k`` largest scores of every row that are positive (TopK)."""
    n_rows, n_latents = scores.shape
    values, cols = torch.topk(scores, min(k, n_latents), dim=-1, sorted=False)
    cols, order = torch.sort(cols, dim=-1)
    keep = values.gather(-1, order) > 0
    rows = torch.arange(n_rows, device=scores.device).unsqueeze(1).expand_as(cols)
    return SparseCodes.from_pairs(rows[keep], cols[keep], n_rows, n_latents)


def row_top_among(scores: torch.Tensor, k: int, latents: torch.Tensor) -> SparseCodes:
    """The ``k`` largest scores of each row among ``latents``, any sign (TopK auxiliary loss)."""
    n_rows, n_latents = scores.shape
    _, local = torch.topk(scores[:, latents], min(k, latents.numel()), dim=-1, sorted=False)
    cols = torch.sort(latents[local], dim=-1).values
    rows = torch.arange(n_rows, device=scores.device).unsqueeze(1).expand_as(cols)
    return SparseCodes.from_pairs(rows.reshape(-1), cols.reshape(-1), n_rows, n_latents)


class _EncodeAt(torch.autograd.Function):
    """``(x - centre) @ W_enc + b_enc`` at the active pairs, given its precomputed ``values``."""

    @staticmethod
    def forward(ctx, centred_x, W_enc, b_enc, centre, values, codes: SparseCodes):
        ctx.save_for_backward(centred_x, W_enc)
        ctx.codes = codes
        return values.clone()

    @staticmethod
    def backward(ctx, grad):
        centred_x, W_enc = ctx.saved_tensors
        codes: SparseCodes = ctx.codes
        grad_W = grad_b = grad_centre = None
        if ctx.needs_input_grad[1]:
            grad_W = codes.sum_latents_of(centred_x, grad).T.contiguous()
        if ctx.needs_input_grad[2] or ctx.needs_input_grad[3]:
            grad_b = grad.new_zeros(codes.n_latents).index_add_(0, codes.cols, grad)
        if ctx.needs_input_grad[3]:
            grad_centre = -(W_enc @ grad_b)
        return None, grad_W, grad_b, grad_centre, None, None


class _DecodeFrom(torch.autograd.Function):
    """Sum over each row's active pairs of value * W_dec[latent] (no bias)."""

    @staticmethod
    def forward(ctx, values, W_dec, codes: SparseCodes):
        ctx.save_for_backward(values, W_dec)
        ctx.codes = codes
        return codes.sum_rows_of(W_dec, values)

    @staticmethod
    def backward(ctx, grad):
        values, W_dec = ctx.saved_tensors
        codes: SparseCodes = ctx.codes
        grad = grad.contiguous()
        grad_values = codes.sampled_products(grad, W_dec) if ctx.needs_input_grad[0] else None
        grad_W = codes.sum_latents_of(grad, values) if ctx.needs_input_grad[1] else None
        return grad_values, grad_W, None


def encode_at(
    centred_x: torch.Tensor,
    W_enc: torch.Tensor,
    b_enc: torch.Tensor,
    centre: torch.Tensor | None,
    values: torch.Tensor,
    codes: SparseCodes,
) -> torch.Tensor:
    """Encoder pre-activations at the active pairs, with gradients for the active latents only.

    The inputs were ``x`` with ``centre`` (the decoder bias, or None) subtracted; ``values`` are
    ``centred_x @ W_enc + b_enc`` at the pairs, computed by the caller without autograd. The
    gradient reaches ``W_enc``, ``b_enc`` and ``centre``, never ``x``.
    """
    if centre is None:
        centre = W_enc.new_zeros(0)
    return _EncodeAt.apply(centred_x, W_enc, b_enc, centre, values, codes)


def decode_from(values: torch.Tensor, W_dec: torch.Tensor, codes: SparseCodes) -> torch.Tensor:
    """The decoder applied to sparse codes (``n_rows x d``); sparse gradients for both inputs."""
    return _DecodeFrom.apply(values, W_dec, codes)
