"""Checks a reader should see before trusting the backbone: model sanity, norms, probes, speed."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import pandas as pd
import torch

from saerepro.data.activations import extract_resid


def top_next_tokens(model: Any, prompts: Sequence[str], k: int = 5) -> pd.DataFrame:
    """The model's ``k`` most likely next tokens (with probabilities) after each prompt."""
    rows = []
    with torch.no_grad():
        for prompt in prompts:
            probs = model(model.to_tokens(prompt))[0, -1].softmax(-1)
            top = probs.topk(k)
            rows.append(
                {
                    "prompt": prompt,
                    **{
                        f"#{i + 1}": f"{model.to_string(int(t))!r} {float(p):.2f}"
                        for i, (p, t) in enumerate(zip(top.values, top.indices, strict=True))
                    },
                }
            )
    return pd.DataFrame(rows)


def resid_norms_by_layer(model: Any, windows: torch.Tensor) -> pd.DataFrame:
    """Median residual-stream norm after every block, at BOS and at the other positions."""
    names = [f"blocks.{layer}.hook_resid_post" for layer in range(model.cfg.n_layers)]
    with torch.no_grad():
        _, cache = model.run_with_cache(windows, names_filter=lambda name: name in names)
    rows = []
    for layer, name in enumerate(names):
        norms = cache[name].norm(dim=-1)
        rows.append(
            {
                "layer": layer,
                "bos_norm": float(norms[:, 0].median()),
                "token_norm": float(norms[:, 1:].median()),
            }
        )
    frame = pd.DataFrame(rows)
    frame["bos_ratio"] = frame["bos_norm"] / frame["token_norm"]
    return frame


def fp16_relative_error(acts: torch.Tensor) -> float:
    """Mean relative L2 error of storing ``acts`` in fp16."""
    rounded = acts.to(torch.float16).float()
    return float(((rounded - acts).norm(dim=-1) / acts.norm(dim=-1)).mean())


def extraction_throughput(model: Any, windows: torch.Tensor, layer: int) -> float:
    """Tokens per second of running ``windows`` up to the hooked layer (one timed pass)."""
    extract_resid(model, windows[:1], layer)  # warm-up
    started = time.perf_counter()
    extract_resid(model, windows, layer)
    return windows.numel() / (time.perf_counter() - started)


def bf16_autocast_check(model: Any, windows: torch.Tensor, layer: int) -> dict[str, float]:
    """Extraction under bf16 autocast vs fp32: tokens/s of each and the relative L2 error."""
    started = time.perf_counter()
    exact = extract_resid(model, windows, layer)[:, 1:]
    fp32_seconds = time.perf_counter() - started
    started = time.perf_counter()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        approx = extract_resid(model, windows, layer)[:, 1:].float()
    bf16_seconds = time.perf_counter() - started
    error = (approx - exact).norm(dim=-1) / exact.norm(dim=-1)
    return {
        "fp32_tokens_per_s": windows.numel() / fp32_seconds,
        "bf16_tokens_per_s": windows.numel() / bf16_seconds,
        "bf16_relative_error": float(error.mean()),
    }
