"""Readers that turn an unpacked Debian package into the texts of one probing class.

Each reader is ``Package -> Iterator[str]``. Some read a kind of file (Bible books, handbook
translations, man pages, reStructuredText docs, fortunes, source code); the transforms at the end
build the syntax tasks' classes from one pool of texts, so that both classes share one vocabulary
and only the order or the sentence structure tells them apart.
"""

from __future__ import annotations

import gzip
import random
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from saerepro.data import sword
from saerepro.data.corpus import handbook_pages
from saerepro.data.debian import Package
from saerepro.data.textclean import fortunes, html_paragraphs, rst_to_text, text_fingerprint

Reader = Callable[[Package], Iterator[str]]


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Book order of the KJV versification (the SWORD modules used here store one block per book).
OT_BOOKS = _words(
    "genesis exodus leviticus numbers deuteronomy joshua judges ruth 1samuel 2samuel 1kings "
    "2kings 1chronicles 2chronicles ezra nehemiah esther job psalms proverbs ecclesiastes "
    "song isaiah jeremiah lamentations ezekiel daniel hosea joel amos obadiah jonah micah nahum "
    "habakkuk zephaniah haggai zechariah malachi"
)
NT_BOOKS = _words(
    "matthew mark luke john acts romans 1corinthians 2corinthians galatians ephesians "
    "philippians colossians 1thessalonians 2thessalonians 1timothy 2timothy titus philemon "
    "hebrews james 1peter 2peter 1john 2john 3john jude revelation"
)


def _book(name: str) -> tuple[str, int]:
    if name in OT_BOOKS:
        return "ot", OT_BOOKS.index(name)
    if name in NT_BOOKS:
        return "nt", NT_BOOKS.index(name)
    raise ValueError(f"unknown Bible book {name!r}: use a name from OT_BOOKS or NT_BOOKS")


def bible_verses(*books: str) -> Reader:
    """The verses of ``books`` (names from :data:`OT_BOOKS` / :data:`NT_BOOKS`), in order.

    The module must keep one compressed block per book (SWORD ``BlockType=BOOK``); block 0 of
    each testament holds its heading, so book ``i`` is block ``i + 1``.
    """
    wanted = {(part, index + 1) for part, index in map(_book, books)}

    def read(package: Package) -> Iterator[str]:
        root = package.path("usr/share/sword")
        conf = sword.read_conf(next(iter(sorted((root / "mods.d").glob("*.conf")))))
        if conf.get("BlockType", "BOOK") != "BOOK":
            raise ValueError(f"{package.name}: books need BlockType=BOOK, not {conf['BlockType']}")
        for entry in sword.read_entries(root):
            if (entry.testament, entry.block) in wanted:
                text = sword.osis_to_text(entry.markup)
                if text:
                    yield text

    return read


def testament(which: str) -> Reader:
    """Every verse of the Old (``ot``) or New (``nt``) Testament."""
    return bible_verses(*(OT_BOOKS if which == "ot" else NT_BOOKS))


def commentary_sentences(package: Package) -> Iterator[str]:
    for entry in sword.read_entries(package.path("usr/share/sword")):
        yield from sword.osis_to_text(entry.markup).split(". ")


def handbook(language: str) -> Reader:
    """Handbook paragraphs translated into ``language`` (untranslated, English ones dropped)."""

    def read(package: Package) -> Iterator[str]:
        english = {p for _, ps in handbook_pages(package, "en-US") for p in ps}
        for _, paragraphs in handbook_pages(package, language):
            yield from (p for p in paragraphs if language == "en-US" or p not in english)

    return read


def reference_paragraphs(language: str) -> Reader:
    """Paragraphs (``<p>`` elements) of the Debian Reference in ``language`` (``en``, ``de``...)."""

    def read(package: Package) -> Iterator[str]:
        folder = package.path("usr/share/debian-reference")
        for page in sorted(folder.glob(f"*.{language}.html")):
            html = page.read_text(errors="replace")
            for block in re.findall(r"<p\b[^>]*>(.*?)</p>", html, flags=re.DOTALL):
                yield from html_paragraphs(block)

    return read


def fortune_files(folder: str, names: tuple[str, ...] = ()) -> Reader:
    """Fortunes in ``folder`` (only the files ``names`` if given; never the ``off/`` ones)."""

    def read(package: Package) -> Iterator[str]:
        root = package.path(folder)
        files = [root / n for n in names] if names else sorted(root.iterdir())
        for file in files:
            if file.is_file() and file.suffix not in (".dat", ".u8"):
                yield from fortunes(file.read_text(errors="replace"))

    return read


def rst_paragraphs(folder: str) -> Reader:
    """Paragraphs of the reStructuredText sources under ``folder`` (Sphinx ``_sources``)."""

    def read(package: Package) -> Iterator[str]:
        for file in sorted(package.path(folder).rglob("*.rst.txt")):
            for paragraph in rst_to_text(file.read_text(errors="replace")).split("\n\n"):
                if not paragraph.lstrip().startswith(("*", "-", "|", "+", "=")):
                    yield paragraph

    return read


# --- man pages -----------------------------------------------------------------------------

_SKIPPED_MAN_SECTIONS = {"NAME", "SYNOPSIS", "EXAMPLES", "EXAMPLE", "SEE ALSO", "COLOPHON"}
_BREAK_MACROS = {"PP", "P", "LP", "SH", "SS", "TP", "IP", "HP", "TH", "nf", "fi", "RS", "RE", "EX"}
_FONT_MACROS = {"B", "I", "SM", "SB"}
_ALTERNATING_MACROS = {"BR", "RB", "IR", "RI", "BI", "IB"}
_TROFF_SPECIALS = {"em": "-", "en": "-", "aq": "'", "dq": '"', "lq": '"', "rq": '"', "mu": "x"}


def _troff_inline(text: str) -> str:
    text = re.sub(r"\\f(?:\[[^\]]*\]|\(..|.)", "", text)  # font changes
    text = re.sub(r"\\\((..)", lambda m: _TROFF_SPECIALS.get(m.group(1), ""), text)
    text = re.sub(r"\\\*(?:\(..|\[[^\]]*\]|.)", "", text)  # strings
    text = text.replace("\\-", "-").replace("\\e", "\\").replace("\\&", "").replace("\\ ", " ")
    return re.sub(r"\\[|^%c]", "", text)


def _macro_arguments(rest: str) -> list[str]:
    return [a.strip('"') for a in re.findall(r'"[^"]*"|\S+', rest)]


def troff_paragraphs(source: str) -> list[tuple[str, str]]:
    """``(section, paragraph)`` pairs of a man page's troff source, markup removed."""
    paragraphs: list[tuple[str, str]] = []
    section, words = "", []

    def flush() -> None:
        text = " ".join(" ".join(words).split())
        if text:
            paragraphs.append((section, text))
        words.clear()

    for line in source.splitlines():
        if line.startswith(('.\\"', "'\\\"", '\\"')):
            continue
        if line.startswith((".", "'")):
            macro, _, rest = line[1:].strip().partition(" ")
            if macro in _BREAK_MACROS:
                flush()
                if macro == "SH":
                    section = " ".join(_macro_arguments(rest)).upper()
            elif macro in _FONT_MACROS:
                words.append(_troff_inline(" ".join(_macro_arguments(rest))))
            elif macro in _ALTERNATING_MACROS:
                words.append(_troff_inline("".join(_macro_arguments(rest))))
            continue  # other requests (spacing, indentation, tables) carry no prose
        words.append(_troff_inline(line))
    flush()
    return paragraphs


def man_pages(section: int, folder: str = "usr/share/man") -> Reader:
    """Prose paragraphs of the section-``section`` man pages (aliases, synopses, examples and
    see-also lists left out)."""

    def read(package: Package) -> Iterator[str]:
        for file in sorted(package.path(f"{folder}/man{section}").glob("*.gz")):
            source = gzip.decompress(file.read_bytes()).decode("utf-8", errors="replace")
            if source.lstrip().startswith(".so "):
                continue  # an alias of another page
            for name, paragraph in troff_paragraphs(source):
                if name not in _SKIPPED_MAN_SECTIONS:
                    yield paragraph

    return read


# --- source code ---------------------------------------------------------------------------


def code_snippets(folder: str, *patterns: str, lines: int = 6) -> Reader:
    """Consecutive runs of ``lines`` non-blank lines from the files matching ``patterns``."""

    def read(package: Package) -> Iterator[str]:
        root = package.path(folder)
        files = sorted({f for pattern in patterns for f in root.rglob(pattern) if f.is_file()})
        for file in files:
            rows = [r.rstrip() for r in _read_code(file).splitlines() if r.strip()]
            for start in range(0, len(rows) - lines + 1, lines):
                yield "\n".join(rows[start : start + lines])

    return read


def _read_code(file: Path) -> str:
    raw = file.read_bytes()
    return (gzip.decompress(raw) if file.suffix == ".gz" else raw).decode("utf-8", "replace")


# --- transforms for the syntax tasks -------------------------------------------------------


def _half(text: str) -> int:
    """0 or 1, fixed by the text: splits one pool into two disjoint halves."""
    return int(text_fingerprint(text)[-1], 16) % 2


def _rng(text: str) -> random.Random:
    return random.Random(text_fingerprint(text))


def pool_half(reader: Reader, half: int) -> Reader:
    """The texts of ``reader`` in the pool half ``half`` (0 or 1), unchanged."""

    def read(package: Package) -> Iterator[str]:
        yield from (t for t in reader(package) if _half(t) == half)

    return read


def shuffled_words(reader: Reader) -> Reader:
    """Pool half 1 of ``reader``, each text's words in a seeded random order (same bag of words
    as the originals; only the order is wrong)."""

    def read(package: Package) -> Iterator[str]:
        for text in pool_half(reader, 1)(package):
            words = text.split()
            _rng(text).shuffle(words)
            yield " ".join(words)

    return read


def shuffled_lines(reader: Reader) -> Reader:
    """Pool half 1 of ``reader`` (multi-line texts), each text's lines in a seeded random order."""

    def read(package: Package) -> Iterator[str]:
        for text in pool_half(reader, 1)(package):
            rows, rng = text.splitlines(), _rng(text)
            order = list(range(len(rows)))
            while len(rows) > 1 and order == sorted(order):  # never the original order
                rng.shuffle(order)
            yield "\n".join(rows[i] for i in order)

    return read


def spliced(reader: Reader) -> Reader:
    """Pool half 1 of ``reader``, the first half of each text joined to the second half of the
    next: every piece is real text, only the whole does not cohere."""

    def read(package: Package) -> Iterator[str]:
        texts = [t.split() for t in pool_half(reader, 1)(package) if len(t.split()) >= 6]
        for first, second in zip(texts, texts[1:] + texts[:1], strict=True):
            yield " ".join(first[: len(first) // 2] + second[len(second) // 2 :])

    return read


def sentences(reader: Reader, ending: str) -> Reader:
    """Sentences of ``reader``'s texts that end with ``ending`` (``?`` or ``.``), the final mark
    removed so the last token does not give the label away."""

    def read(package: Package) -> Iterator[str]:
        for text in reader(package):
            for sentence in re.findall(r"[A-Z][^.?!;:]*[.?!]", text):
                if sentence.endswith(ending):
                    yield sentence[:-1].rstrip()

    return read
