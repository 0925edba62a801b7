"""The SAE architectures the suite trains, and the one table of their display names."""

from __future__ import annotations

LABELS = {
    "fast_batchtopk": "BatchTopK",
    "fast_topk": "TopK",
    "jumprelu": "JumpReLU",
    "standard": "ReLU (L1)",
    "aligned_standard": "aligned ReLU",
    "aligned_topk": "aligned TopK",
}
