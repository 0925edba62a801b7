"""Activation cache: residual-stream activations on disk as fp16 shards, streamed back.

Text is tokenised into windows of ``context`` tokens that each start with BOS. The BOS position
is never stored (its norm is an outlier, ~15x the rest). Row ``r`` of the cache is position
``1 + r % (context - 1)`` of window ``r // (context - 1)``; the windows' tokens are kept beside
the shards, so later sections can show the context of any activation.

One normalisation convention for every section: activations are multiplied by one scalar,
``scale = sqrt(d_model / E||x||^2)`` measured on the cache, so a normalised activation has mean
squared norm ``d_model`` (SAELens's ``expected_average_only_in`` convention).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from saerepro.core.atomic import atomic_directory
from saerepro.core.checks import require

INDEX_FILE, TOKENS_FILE, BOS_FILE = "index.json", "tokens.npy", "bos.npy"


def resid_hook(layer: int) -> str:
    """The TransformerLens hook of the residual stream after block ``layer``."""
    return f"blocks.{layer}.hook_resid_post"


def token_windows(
    tokenizer: Any, texts: Sequence[str], context: int, max_windows: int | None = None
) -> np.ndarray:
    """Texts joined (blank line between) and cut into ``[n, context]`` windows, BOS first."""
    require(context >= 2, "context", "at least 2 tokens", context)
    separator = tokenizer("\n\n", add_special_tokens=False)["input_ids"]
    body = context - 1
    stream: list[int] = []
    windows: list[np.ndarray] = []
    for start in range(0, len(texts), 256):
        for ids in tokenizer(list(texts[start : start + 256]), add_special_tokens=False)[
            "input_ids"
        ]:
            stream.extend(ids)
            stream.extend(separator)
        while len(stream) >= body:
            windows.append(np.asarray([tokenizer.bos_token_id, *stream[:body]], dtype=np.int32))
            del stream[:body]
            if max_windows is not None and len(windows) >= max_windows:
                return np.stack(windows)
    if not windows:
        raise ValueError(f"the texts hold fewer than {body} tokens: no window of {context}")
    return np.stack(windows)


def extract_resid(model: Any, tokens: torch.Tensor, layer: int) -> torch.Tensor:
    """Residual stream after block ``layer`` for ``tokens`` [batch, pos]; stops after it."""
    hook = resid_hook(layer)
    with torch.no_grad():
        _, cache = model.run_with_cache(tokens, names_filter=hook, stop_at_layer=layer + 1)
    return cache[hook]


@dataclass(frozen=True)
class CacheIndex:
    """What ``index.json`` of an activation cache records."""

    hook: str
    layer: int
    d_model: int
    context: int
    n_tokens: int
    shards: tuple[tuple[str, int], ...]
    mean_sq_norm: float
    provenance: dict[str, Any] = field(default_factory=dict)  # model, corpus (older caches: {})

    @property
    def scale(self) -> float:
        return math.sqrt(self.d_model / self.mean_sq_norm)


def cache_activations(
    model: Any,
    windows: np.ndarray,
    layer: int,
    out_dir: str | Path,
    batch_size: int = 32,
    shard_tokens: int = 1 << 18,
    progress: bool = True,
    provenance: dict[str, Any] | None = None,
) -> CacheIndex:
    """Run ``windows`` through ``model`` and store the non-BOS activations as fp16 shards;
    ``provenance`` (the model's and the corpus's names) goes into the index."""
    require(batch_size >= 1, "batch_size", "at least 1", batch_size)
    require(shard_tokens >= 1, "shard_tokens", "at least 1", shard_tokens)
    n_windows, context = windows.shape
    shards: list[tuple[str, int]] = []
    pending: list[np.ndarray] = []
    sum_sq, count = 0.0, 0
    with atomic_directory(out_dir) as tmp:

        def flush() -> None:
            block = np.concatenate(pending)
            pending.clear()
            name = f"shard_{len(shards):05d}.npy"
            np.save(tmp / name, block)
            shards.append((name, len(block)))

        bar = tqdm(
            total=n_windows * (context - 1),
            desc="caching activations",
            unit="tok",
            disable=not progress,
        )
        bos, bos_deviation = None, 0.0
        for start in range(0, n_windows, batch_size):
            batch = torch.from_numpy(windows[start : start + batch_size].astype(np.int64))
            resid = extract_resid(model, batch, layer)
            if bos is None:  # causal attention: BOS at position 0 sees only itself
                bos = resid[0, 0].float()
            bos_deviation = max(bos_deviation, float((resid[:, 0].float() - bos).abs().max()))
            acts = resid[:, 1:].reshape(-1, model.cfg.d_model)
            sum_sq += float(acts.double().pow(2).sum())
            count += len(acts)
            pending.append(acts.to(torch.float16).cpu().numpy())
            if sum(len(p) for p in pending) >= shard_tokens:
                flush()
            bar.update(len(acts))
        bar.close()
        if pending:
            flush()
        np.save(tmp / TOKENS_FILE, windows)
        if bos is not None:
            np.save(tmp / BOS_FILE, bos.cpu().numpy())  # fp32: the BOS norm overflows fp16
        index = CacheIndex(
            hook=resid_hook(layer),
            layer=layer,
            d_model=model.cfg.d_model,
            context=context,
            n_tokens=count,
            shards=tuple(shards),
            mean_sq_norm=sum_sq / count,
            provenance=dict(provenance or {}) | {"bos_max_deviation": bos_deviation},
        )
        (tmp / INDEX_FILE).write_text(json.dumps(index.__dict__, indent=2) + "\n")
    return index


class ActivationStore:
    """A cache on disk, read back memory-mapped; values come out normalised unless asked."""

    def __init__(self, folder: str | Path, scale: float | None = None) -> None:
        self.folder = Path(folder)
        file = self.folder / INDEX_FILE
        if not file.is_file():
            raise FileNotFoundError(f"no activation cache at {str(self.folder)!r}")
        raw = json.loads(file.read_text())
        raw["shards"] = tuple(tuple(s) for s in raw["shards"])
        self.index = CacheIndex(**raw)
        self.scale = self.index.scale if scale is None else scale
        self._shards = [np.load(self.folder / name, mmap_mode="r") for name, _ in self.index.shards]

    def __len__(self) -> int:
        return self.index.n_tokens

    @property
    def d_model(self) -> int:
        return self.index.d_model

    def sae_metadata(self) -> dict[str, Any]:
        """What an SAE trained on this cache records about its inputs (SAELens metadata keys
        where SAELens has one): the hook, the context, BOS handling, and the cache's
        provenance."""
        provenance = self.index.provenance
        return {
            "model_name": provenance.get("model"),
            "hook_name": self.index.hook,
            "hook_layer": self.index.layer,
            "context_size": self.index.context,
            "prepend_bos": True,  # every window starts with BOS ...
            "bos_in_training": False,  # ... whose position the cache does not store (the
            # trainer says True when it mixes the BOS row back in)
            "corpus": provenance.get("corpus"),
            "seqpos_slice": [1, self.index.context],
        }

    @property
    def tokens(self) -> np.ndarray:
        """The windows ``[n, context]`` (BOS first) the activations came from."""
        return np.load(self.folder / TOKENS_FILE, mmap_mode="r")

    def _to_tensor(self, rows: np.ndarray, normalised: bool) -> torch.Tensor:
        acts = torch.from_numpy(np.asarray(rows, dtype=np.float32))
        return acts * self.scale if normalised else acts

    def read(
        self, start: int = 0, stop: int | None = None, normalised: bool = True
    ) -> torch.Tensor:
        """Rows ``start:stop`` of the whole cache as float32."""
        stop = len(self) if stop is None else min(stop, len(self))
        parts, offset = [], 0
        for shard in self._shards:
            lo, hi = max(start - offset, 0), min(stop - offset, len(shard))
            if lo < hi:
                parts.append(shard[lo:hi])
            offset += len(shard)
        rows = np.concatenate(parts) if parts else np.zeros((0, self.d_model), np.float16)
        return self._to_tensor(rows, normalised)

    def take(self, n: int, param: str, normalised: bool = True) -> torch.Tensor:
        """The first ``n`` rows; refuses, naming ``param``, when the cache holds fewer."""
        require(
            1 <= n <= len(self),
            param,
            f"between 1 and the {len(self):,} tokens this cache holds ({self.folder})",
            n,
        )
        return self.read(0, n, normalised)

    def windows(self, n: int, param: str) -> torch.Tensor:
        """The first ``n`` token windows (int64 ``[n, context]``); refuses, naming ``param``,
        when the cache holds fewer."""
        held = len(self.tokens)
        require(1 <= n <= held, param, f"between 1 and the {held:,} windows this cache holds", n)
        return torch.from_numpy(np.asarray(self.tokens[:n], dtype=np.int64))

    def bos_row(self, normalised: bool = True) -> torch.Tensor:
        """The BOS position's activation (one vector: every window starts with the same BOS,
        which attends only to itself), in the store's normalisation."""
        file = self.folder / BOS_FILE
        if not file.is_file():
            raise FileNotFoundError(
                f"the cache at {str(self.folder)!r} has no {BOS_FILE}: rebuild it with the "
                "backbone's activations step"
            )
        bos = torch.from_numpy(np.load(file).astype(np.float32))
        return bos * self.scale if normalised else bos

    def bos_rows_per_batch(self, batch_size: int) -> int:
        """How many rows of a batch are BOS at its natural frequency, 1 in ``context``."""
        return batch_size // self.index.context

    def batches(
        self,
        batch_size: int,
        seed: int,
        epochs: int = 1,
        normalised: bool = True,
        with_bos: bool = False,
    ) -> Iterator[torch.Tensor]:
        """Shuffled batches: shard order and rows within each shard permuted per epoch.

        The windows were shuffled by document before caching, so shuffling within shards mixes
        the sources; each shard is read into memory once per epoch. ``with_bos``: the first
        :meth:`bos_rows_per_batch` rows of every batch are the BOS activation, so training sees
        BOS at its natural frequency (the cache itself never stores the BOS position).
        """
        require(batch_size >= 1, "batch_size", "at least 1", batch_size)
        bos = self.bos_row(normalised) if with_bos else None
        n_bos = self.bos_rows_per_batch(batch_size) if with_bos else 0
        require(
            not with_bos or n_bos >= 1,
            "batch_size",
            f"at least the context ({self.index.context}) for a batch to hold one BOS row",
            batch_size,
        )
        rng = np.random.default_rng(seed)
        for _ in range(epochs):
            for shard_id in rng.permutation(len(self._shards)):
                shard = np.asarray(self._shards[shard_id])
                order = rng.permutation(len(shard))
                for start in range(0, len(order) - batch_size + 1, batch_size):
                    batch = self._to_tensor(shard[order[start : start + batch_size]], normalised)
                    if bos is not None:
                        batch[:n_bos] = bos
                    yield batch


def example_token_ids(tokenizer: Any, texts: Sequence[str], max_tokens: int) -> list[list[int]]:
    """Each text's token ids as the probes see them: BOS plus at most ``max_tokens - 1`` tokens."""
    require(max_tokens >= 2, "max_tokens", "at least 2", max_tokens)
    encoded = tokenizer(list(texts), add_special_tokens=False)["input_ids"]
    return [[tokenizer.bos_token_id, *row[: max_tokens - 1]] for row in encoded]


def example_activations(
    model: Any,
    tokenizer: Any,
    texts: Sequence[str],
    layer: int,
    max_tokens: int,
    batch_size: int = 32,
    progress: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-token activations of short texts: fp16 ``[n, max_tokens, d]`` and their lengths.

    Each text is BOS plus at most ``max_tokens - 1`` tokens, right-padded (causal attention
    never lets padding reach a real position). Position 0 (BOS, whose norm overflows fp16) and
    padding rows are stored as zeros: BOS is never used.
    """
    ids = example_token_ids(tokenizer, texts, max_tokens)
    lengths = np.asarray([len(row) for row in ids], dtype=np.int32)
    out = np.zeros((len(ids), max_tokens, model.cfg.d_model), dtype=np.float16)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    for start in tqdm(
        range(0, len(ids), batch_size), desc="example activations", disable=not progress
    ):
        rows = ids[start : start + batch_size]
        width = max(map(len, rows))
        batch = torch.tensor([row + [pad] * (width - len(row)) for row in rows])
        acts = extract_resid(model, batch, layer).to(torch.float16).cpu().numpy()
        for i, row in enumerate(rows):
            out[start + i, 1 : len(row)] = acts[i, 1 : len(row)]
    return out, lengths
