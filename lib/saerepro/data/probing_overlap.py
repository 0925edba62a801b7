"""Keep probing texts out of the SAE training corpus: word-shingle hashes of the corpus, and a
test of how much of a probing text they cover.

A probing text the SAEs were trained on would let a latent memorise it; Kantamneni et al.'s tasks
come from datasets the SAEs never saw. A text counts as seen when at least ``threshold`` of its
``SHINGLE_WORDS``-word shingles (lower-cased, whitespace-split) occur anywhere in the corpus.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from saerepro.core.checks import require
from saerepro.data.corpus import read_documents

SHINGLE_WORDS = 8
PARTS = ("train", "heldout")


def _key(words: list[str]) -> bytes:
    return hashlib.blake2b(" ".join(words).encode("utf-8"), digest_size=8).digest()


def shingles(text: str, size: int = SHINGLE_WORDS) -> list[bytes]:
    """Hashes of every run of ``size`` consecutive words (one for a text of fewer words)."""
    words = text.lower().split()
    if len(words) <= size:
        return [_key(words)] if words else []
    return [_key(words[i : i + size]) for i in range(len(words) - size + 1)]


class CorpusShingles:
    """The shingle hashes of a set of texts, and how much of a new text they cover."""

    def __init__(self, texts: Iterable[str], size: int = SHINGLE_WORDS) -> None:
        require(size >= 2, "size", "at least 2 words", size)
        self.size = size
        self.hashes: set[bytes] = set()
        for text in texts:
            self.hashes.update(shingles(text, size))

    @classmethod
    def of_corpus(cls, corpus_dir: str | Path) -> CorpusShingles:
        """Every document of the corpus's train and held-out parts."""
        texts = (d.text for part in PARTS for d in read_documents(corpus_dir, part))
        return cls(texts)

    def coverage(self, text: str) -> float:
        """The fraction of ``text``'s shingles found in the corpus (0 for an empty text)."""
        keys = shingles(text, self.size)
        return sum(key in self.hashes for key in keys) / len(keys) if keys else 0.0

    def seen(self, text: str, threshold: float = 0.5) -> bool:
        require(0 < threshold <= 1, "threshold", "in (0, 1]", threshold)
        return self.coverage(text) >= threshold
