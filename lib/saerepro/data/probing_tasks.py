"""Binary sparse-probing tasks built offline from Debian packages.

Each task (:data:`saerepro.data.probing_catalogue.TASKS`) has two classes of short texts, each
from a named package. Texts found in the SAE training corpus are removed (and counted); classes are
balanced (the same number of examples each), and every example gets a fixed train or test split.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from saerepro.core.atomic import atomic_directory
from saerepro.core.checks import require
from saerepro.data.debian import Package, fetch_package
from saerepro.data.probing_catalogue import TASKS, ClassSource
from saerepro.data.probing_overlap import CorpusShingles
from saerepro.data.textclean import deduplicate

TASKS_FILE = "tasks.json"
MIN_CHARS = 40


@dataclass(frozen=True)
class ProbingSettings:
    """How the probing sets are built (``backbone.probing`` in params.yaml)."""

    tasks: tuple[str, ...]
    per_class: int
    test_fraction: float
    max_chars: int
    seed: int

    def __post_init__(self) -> None:
        require(
            len(self.tasks) >= 1,
            "probing.tasks",
            f"a non-empty list from {sorted(TASKS)}",
            self.tasks,
        )
        for name in self.tasks:
            require(name in TASKS, "probing.tasks", f"names from {sorted(TASKS)}", name)
        require(self.per_class >= 4, "probing.per_class", "at least 4", self.per_class)
        require(
            0 < self.test_fraction < 1, "probing.test_fraction", "in (0, 1)", self.test_fraction
        )
        require(self.max_chars >= MIN_CHARS, "probing.max_chars", f">= {MIN_CHARS}", self.max_chars)


@dataclass(frozen=True)
class ProbingExample:
    text: str
    label: int
    split: str


def class_texts(source: ClassSource, package: Package, max_chars: int) -> list[str]:
    """The distinct texts of one class, cut to ``max_chars`` at a space, shorter ones dropped."""
    texts = []
    for text in source.read(package):
        text = text.strip() if source.keep_lines else " ".join(text.split())
        if len(text) > max_chars:
            cut = text.rfind(" ", 0, max_chars)
            text = text[: cut if cut > MIN_CHARS else max_chars]
        if len(text) >= MIN_CHARS:
            texts.append(text)
    return list(deduplicate(texts))


def class_pools(
    name: str, settings: ProbingSettings, package_dir: str | Path, seen: CorpusShingles | None
) -> tuple[list[list[str]], list[Package], dict[str, list[int]]]:
    """Each class's usable texts (sorted), its package, and what was dropped: texts in both
    classes and texts the SAE training corpus holds (``seen``)."""
    sources = TASKS[name].classes
    packages = [fetch_package(source.package, package_dir) for source in sources]
    pools = [class_texts(s, p, settings.max_chars) for s, p in zip(sources, packages, strict=True)]
    # A text in both classes (e.g. a shared code line) says nothing about the label: drop it.
    shared = set(pools[0]) & set(pools[1])
    pools = [[t for t in pool if t not in shared] for pool in pools]
    in_corpus = [[seen is not None and seen.seen(t) for t in pool] for pool in pools]
    dropped = {
        "in_both_classes": [len(shared), len(shared)],
        "in_training_corpus": [sum(flags) for flags in in_corpus],
    }
    pools = [
        sorted(t for t, flag in zip(pool, flags, strict=True) if not flag)
        for pool, flags in zip(pools, in_corpus, strict=True)
    ]
    return pools, packages, dropped


def build_task(
    name: str,
    settings: ProbingSettings,
    package_dir: str | Path,
    seen: CorpusShingles | None = None,
) -> tuple[list[ProbingExample], dict[str, Any]]:
    """The balanced, split examples of task ``name`` and its provenance; texts in ``seen`` (the
    SAE training corpus) are left out and counted."""
    require(name in TASKS, "task", f"a name from {sorted(TASKS)}", name)
    pools, packages, dropped = class_pools(name, settings, package_dir, seen)
    n = min(settings.per_class, *map(len, pools))
    require(n >= 4, f"probing task {name}", "at least 4 examples per class", n)
    if n < settings.per_class:  # stated here and in the task's provenance, never silent
        print(
            f"probing task {name}: {n} examples per class, not probing.per_class="
            f"{settings.per_class}: its sources hold {[len(pool) for pool in pools]}",
            flush=True,
        )
    rng = random.Random(f"{settings.seed}:{name}")
    n_test = max(1, round(n * settings.test_fraction))
    examples = []
    for label, pool in enumerate(pools):
        chosen = rng.sample(pool, n)
        examples += [
            ProbingExample(text, label, "test" if i < n_test else "train")
            for i, text in enumerate(chosen)
        ]
    provenance = {
        "kind": TASKS[name].kind,
        "classes": [source.label for source in TASKS[name].classes],
        "packages": [package.provenance() for package in packages],
        "available": [len(pool) for pool in pools],
        "dropped": dropped,
        "per_class": n,
        "test_per_class": n_test,
    }
    return examples, provenance


def build_probing_sets(
    settings: ProbingSettings,
    package_dir: str | Path,
    out_dir: str | Path,
    corpus_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Every task into ``out_dir/<task>.jsonl`` plus ``tasks.json``; return the latter.

    With ``corpus_dir`` (the SAE training corpus), texts it holds are left out and counted in each
    task's ``dropped``.
    """
    seen = None if corpus_dir is None else CorpusShingles.of_corpus(corpus_dir)
    index: dict[str, Any] = {"settings": asdict(settings), "tasks": {}}
    with atomic_directory(out_dir) as tmp:
        for name in tqdm(settings.tasks, desc="probing tasks"):
            examples, index["tasks"][name] = build_task(name, settings, package_dir, seen)
            with (tmp / f"{name}.jsonl").open("w", encoding="utf-8") as handle:
                for example in examples:
                    handle.write(json.dumps(asdict(example), ensure_ascii=False) + "\n")
        (tmp / TASKS_FILE).write_text(json.dumps(index, indent=2) + "\n")
    return index


def read_task(probing_dir: str | Path, name: str) -> list[ProbingExample]:
    file = Path(probing_dir) / f"{name}.jsonl"
    if not file.is_file():
        raise FileNotFoundError(f"no probing task at {str(file)!r}: run `dvc repro probing_data`")
    with file.open(encoding="utf-8") as handle:
        return [ProbingExample(**json.loads(line)) for line in handle]


def read_tasks_index(probing_dir: str | Path) -> dict[str, Any]:
    return json.loads((Path(probing_dir) / TASKS_FILE).read_text())


@dataclass(frozen=True)
class ProbeTask:
    """One binary probing task: per-token raw activations of its examples, labels and split."""

    name: str
    acts: np.ndarray  # [n, max_tokens, d] fp16; position 0 (BOS) and padding are zeros
    lengths: np.ndarray  # [n] tokens per example, BOS included
    labels: torch.Tensor  # [n] 0 / 1
    is_train: torch.Tensor  # [n] bool

    def __post_init__(self) -> None:
        n = len(self.labels)
        require(
            self.acts.shape[0] == n == len(self.lengths) == len(self.is_train),
            "ProbeTask",
            "acts, lengths, labels and is_train of one length",
            (self.acts.shape[0], len(self.lengths), n, len(self.is_train)),
        )

    @classmethod
    def from_examples(
        cls, name: str, examples: Sequence[ProbingExample], acts: np.ndarray, lengths: np.ndarray
    ) -> ProbeTask:
        """From the task's examples (each with ``label`` and ``split``) and their activations."""
        return cls(
            name,
            acts,
            lengths,
            torch.tensor([e.label for e in examples]),
            torch.tensor([e.split == "train" for e in examples]),
        )
