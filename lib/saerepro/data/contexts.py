"""Offline explanations of latents: the text around the tokens that activate them most.

The activation cache stores every non-BOS position of ``[n, context]`` windows in order, so cache
row ``r`` is window ``r // (context - 1)``, position ``1 + r % (context - 1)``.
"""

from __future__ import annotations

import numpy as np
import torch
from transformers import PreTrainedTokenizerBase

from saerepro.core.checks import require


def row_token(tokens: np.ndarray, row: int) -> tuple[int, int]:
    """(window, position) of cache row ``row`` for windows ``tokens [n, context]``."""
    body = tokens.shape[1] - 1
    require(0 <= row < len(tokens) * body, "row", f"in 0..{len(tokens) * body - 1}", row)
    return row // body, 1 + row % body


def context_text(
    tokens: np.ndarray,
    tokenizer: PreTrainedTokenizerBase,
    row: int,
    before: int = 8,
    after: int = 2,
) -> str:
    """The tokens around cache row ``row``, the row's own token in «guillemets»."""
    window, position = row_token(tokens, row)
    ids = tokens[window]
    left = tokenizer.decode(ids[max(1, position - before) : position].tolist())
    token = tokenizer.decode([int(ids[position])])
    right = tokenizer.decode(ids[position + 1 : position + 1 + after].tolist())
    lead = " " if token[:1].isspace() else ""
    return " ".join(f"{left}{lead}«{token.strip()}»{right}".split())


def top_rows(activations: torch.Tensor, n: int) -> list[int]:
    """Rows of the ``n`` largest nonzero values of one latent's activations, largest first."""
    require(n >= 1, "n", "an integer >= 1", n)
    values, rows = torch.topk(activations, min(n, len(activations)))
    return [int(r) for v, r in zip(values, rows, strict=True) if v > 0]


def top_contexts(
    tokens: np.ndarray,
    tokenizer: PreTrainedTokenizerBase,
    activations: torch.Tensor,
    n: int = 3,
    **window: int,
) -> list[str]:
    """The contexts of a latent's ``n`` strongest activations (``activations`` per cache row)."""
    return [context_text(tokens, tokenizer, row, **window) for row in top_rows(activations, n)]
