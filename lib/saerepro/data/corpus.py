"""The offline English corpus: free and public-domain text from Debian packages.

Each source is one package and a reader that yields its documents. Documents are cleaned,
de-duplicated, cut into chunks of bounded size, capped per source, and split into train and
held-out parts *by document* (every chunk of a document goes to the same part). A manifest
records each source's package, version, licence, and document, character and token counts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from saerepro.core.atomic import atomic_directory
from saerepro.core.checks import require
from saerepro.data import sword
from saerepro.data.debian import Package, fetch_package
from saerepro.data.textclean import (
    deduplicate,
    fortunes,
    html_paragraphs,
    rst_to_text,
    text_fingerprint,
)

TRAIN_FILE, HELDOUT_FILE, MANIFEST_FILE = "train.jsonl", "heldout.jsonl", "manifest.json"


@dataclass(frozen=True)
class Document:
    """A piece of text, the source it came from, and the document it belongs to."""

    source: str
    doc_id: str
    text: str

    @property
    def group(self) -> str:
        """The whole document this chunk was cut from (the unit of the train/held-out split)."""
        return self.doc_id.split("#", 1)[0]


Reader = Callable[[Package], Iterator[tuple[str, str]]]


def read_sword_books(package: Package) -> Iterator[tuple[str, str]]:
    """A SWORD module's entries joined per compressed block (a book or chapter)."""
    blocks: dict[tuple[str, int], list[str]] = {}
    for entry in sword.read_entries(package.path("usr/share/sword")):
        text = sword.osis_to_text(entry.markup)
        if text:
            blocks.setdefault((entry.testament, entry.block), []).append(text)
    for (testament, block), texts in blocks.items():
        yield f"{testament}{block:03d}", "\n".join(deduplicate(texts))


def handbook_pages(package: Package, language: str) -> Iterator[tuple[str, list[str]]]:
    """(page name, paragraphs) of the Debian Administrator's Handbook in ``language``."""
    folder = package.path(f"usr/share/doc/debian-handbook/html/{language}")
    for page in sorted(folder.glob("*.html")):
        yield page.stem, html_paragraphs(page.read_text(errors="replace"), paragraph_class="para")


def read_handbook_english(package: Package) -> Iterator[tuple[str, str]]:
    for name, paragraphs in handbook_pages(package, "en-US"):
        yield name, "\n\n".join(paragraphs)


def _rst_reader(sources: str) -> Reader:
    def read(package: Package) -> Iterator[tuple[str, str]]:
        root = package.path(sources)
        for file in sorted(root.rglob("*.rst.txt")):
            yield str(file.relative_to(root)), rst_to_text(file.read_text(errors="replace"))

    return read


def read_fortune_files(package: Package) -> Iterator[tuple[str, str]]:
    """Each English fortune file (offensive ones excluded) as one document."""
    root = package.path("usr/share/games/fortunes")
    for file in sorted(p for p in root.iterdir() if p.is_file() and not p.suffix):
        yield file.name, "\n\n".join(fortunes(file.read_text(errors="replace")))


SOURCES: dict[str, tuple[str, Reader]] = {
    "bible_web": ("sword-text-web", read_sword_books),
    "commentary_henry": ("sword-comm-mhcc", read_sword_books),
    "commentary_spurgeon": ("sword-comm-tdavid", read_sword_books),
    "debian_handbook": ("debian-handbook", read_handbook_english),
    "python_docs": ("python3.11-doc", _rst_reader("usr/share/doc/python3.11/html/_sources")),
    "linux_docs": ("linux-doc-6.1", _rst_reader("usr/share/doc/linux-doc-6.1/html/_sources")),
    "fortunes": ("fortunes", read_fortune_files),
}


@dataclass(frozen=True)
class CorpusSettings:
    """How the corpus is assembled (``backbone.corpus`` in params.yaml)."""

    sources: tuple[str, ...]
    max_chars_per_source: int
    chunk_chars: int
    min_chars: int
    heldout_fraction: float
    seed: int

    def __post_init__(self) -> None:
        for name in self.sources:
            require(name in SOURCES, "corpus.sources", f"names from {sorted(SOURCES)}", name)
        require(len(self.sources) > 0, "corpus.sources", "at least one source", self.sources)
        require(self.chunk_chars >= 200, "corpus.chunk_chars", "at least 200", self.chunk_chars)
        require(self.min_chars >= 1, "corpus.min_chars", "at least 1", self.min_chars)
        require(
            self.max_chars_per_source >= self.chunk_chars,
            "corpus.max_chars_per_source",
            "at least corpus.chunk_chars",
            self.max_chars_per_source,
        )
        require(
            0 < self.heldout_fraction < 1,
            "corpus.heldout_fraction",
            "a number in (0, 1)",
            self.heldout_fraction,
        )


def unit_hash(*parts: object) -> float:
    """A deterministic number in [0, 1) from ``parts`` (stable across runs and machines)."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def chunk_text(text: str, chunk_chars: int) -> list[str]:
    """Cut ``text`` at paragraph (else line) boundaries into pieces of at most ~``chunk_chars``."""
    pieces: list[str] = []
    current = ""
    for paragraph in text.replace("\n\n", "\n").split("\n"):
        while len(paragraph) > chunk_chars:  # a paragraph longer than a chunk: cut at a space
            cut = paragraph.rfind(" ", 0, chunk_chars)
            cut = cut if cut > 0 else chunk_chars
            pieces.append(paragraph[:cut])
            paragraph = paragraph[cut:].lstrip()
        if current and len(current) + len(paragraph) + 1 > chunk_chars:
            pieces.append(current)
            current = ""
        current = f"{current}\n{paragraph}" if current else paragraph
    if current:
        pieces.append(current)
    return [piece.strip() for piece in pieces if piece.strip()]


def source_documents(
    source: str, package: Package, settings: CorpusSettings, seen: set[str]
) -> list[Document]:
    """The cleaned, de-duplicated, chunked and capped documents of one source."""
    _, reader = SOURCES[source]
    chunks = []
    for doc_id, text in reader(package):
        for index, piece in enumerate(chunk_text(text, settings.chunk_chars)):
            key = text_fingerprint(piece)
            if len(piece) >= settings.min_chars and key not in seen:
                seen.add(key)
                chunks.append(Document(source, f"{doc_id}#{index}", piece))
    # Cap by whole documents, taken in a seeded order, so the cap does not favour early files.
    groups: dict[str, list[Document]] = {}
    for chunk in chunks:
        groups.setdefault(chunk.group, []).append(chunk)
    kept: list[Document] = []
    total = 0
    for group in sorted(groups, key=lambda g: unit_hash(settings.seed, source, g)):
        if total >= settings.max_chars_per_source:
            break
        kept.extend(groups[group])
        total += sum(len(chunk.text) for chunk in groups[group])
    return kept


def is_heldout(document: Document, settings: CorpusSettings) -> bool:
    return unit_hash("split", settings.seed, document.source, document.group) < (
        settings.heldout_fraction
    )


def write_jsonl(path: Path, documents: Iterable[Document]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for document in documents:
            handle.write(json.dumps(asdict(document), ensure_ascii=False) + "\n")


def read_documents(corpus_dir: str | Path, part: str = "train") -> list[Document]:
    """The documents of the ``train`` or ``heldout`` part of a built corpus."""
    require(part in ("train", "heldout"), "part", "train or heldout", part)
    file = Path(corpus_dir) / (TRAIN_FILE if part == "train" else HELDOUT_FILE)
    if not file.is_file():
        raise FileNotFoundError(f"no corpus at {str(file)!r}: run `dvc repro corpus` first")
    with file.open(encoding="utf-8") as handle:
        return [Document(**json.loads(line)) for line in handle]


def count_tokens(tokenizer: Any, texts: list[str], batch: int = 256) -> int:
    total = 0
    for start in range(0, len(texts), batch):
        encoded = tokenizer(texts[start : start + batch], add_special_tokens=False)["input_ids"]
        total += sum(len(ids) for ids in encoded)
    return total


def build_corpus(
    settings: CorpusSettings, package_dir: str | Path, out_dir: str | Path, tokenizer: Any
) -> dict[str, Any]:
    """Fetch, clean and split every source into ``out_dir``; return the manifest."""
    seen: set[str] = set()
    train: list[Document] = []
    heldout: list[Document] = []
    manifest: dict[str, Any] = {"settings": asdict(settings), "sources": {}}
    for source in tqdm(settings.sources, desc="corpus sources"):
        package = fetch_package(SOURCES[source][0], package_dir)
        documents = source_documents(source, package, settings, seen)
        source_train = [d for d in documents if not is_heldout(d, settings)]
        source_heldout = [d for d in documents if is_heldout(d, settings)]
        train.extend(source_train)
        heldout.extend(source_heldout)
        manifest["sources"][source] = {
            **package.provenance(),
            "documents": len({d.group for d in documents}),
            "chunks": len(documents),
            "chars": sum(len(d.text) for d in documents),
            "train_tokens": count_tokens(tokenizer, [d.text for d in source_train]),
            "heldout_tokens": count_tokens(tokenizer, [d.text for d in source_heldout]),
        }
    rows = manifest["sources"].values()
    manifest["train_tokens"] = sum(row["train_tokens"] for row in rows)
    manifest["heldout_tokens"] = sum(row["heldout_tokens"] for row in rows)
    with atomic_directory(out_dir) as tmp:
        write_jsonl(tmp / TRAIN_FILE, train)
        write_jsonl(tmp / HELDOUT_FILE, heldout)
        (tmp / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def read_manifest(corpus_dir: str | Path) -> dict[str, Any]:
    return json.loads((Path(corpus_dir) / MANIFEST_FILE).read_text())
