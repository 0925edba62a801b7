"""Corpus cleaning and the SWORD reader on small hand-made fixtures."""

import struct
import zlib
from pathlib import Path

import pytest
from saerepro.core.checks import ParamError
from saerepro.data import debian, sword
from saerepro.data.corpus import CorpusSettings, Document, chunk_text, is_heldout, unit_hash
from saerepro.data.textclean import deduplicate, fortunes, html_paragraphs, rst_to_text

HANDBOOK_PAGE = """<html><head><title>t</title><style>p {}</style></head><body>
<div class="titlepage">Chapter 6</div>
<div class="para">APT is the <span class="emphasis">Advanced</span> Packaging Tool.</div>
<div class="para">It reads <code>sources.list</code>:
  <div class="itemizedlist"><ul><li>one</li><li>two</li></ul></div>
</div>
<script>var x = "<div class='para'>no</div>";</script>
<p>Outside any paragraph of the selected class.</p></body></html>"""


def test_html_paragraphs_selects_class_and_keeps_nested_text():
    assert html_paragraphs(HANDBOOK_PAGE, paragraph_class="para") == [
        "APT is the Advanced Packaging Tool.",
        "It reads sources.list: one two",
    ]


def test_html_paragraphs_without_class_splits_at_blocks_and_skips_scripts():
    paragraphs = html_paragraphs(HANDBOOK_PAGE)
    assert "Outside any paragraph of the selected class." in paragraphs
    assert not any("var x" in p for p in paragraphs)
    assert "t" not in paragraphs  # the <head> title is not text


def test_rst_to_text_strips_roles_links_directives_and_rules():
    rst = """Title
=====

.. note::

Use :func:`os.path.join` and ``pathlib``; see `the docs <https://x.org>`_.
"""
    text = rst_to_text(rst)
    assert text.splitlines()[0] == "Title"
    assert "Use os.path.join and pathlib; see the docs." in text
    assert "=" not in text and ".. note" not in text and "https" not in text


def test_fortunes_split_at_percent_lines():
    assert fortunes("one\nline two\n%\n\n%\nthree\n%\n") == ["one\nline two", "three"]


def test_deduplicate_ignores_case_and_whitespace_and_keeps_order():
    assert list(deduplicate(["A b", "c", "a  B", "C", "d"])) == ["A b", "c", "d"]


def test_chunk_text_respects_size_and_keeps_all_words():
    text = "\n".join(f"paragraph {i} " + "word " * 30 for i in range(20))
    chunks = chunk_text(text, 400)
    assert all(len(c) <= 400 for c in chunks)
    assert " ".join(chunks).split() == text.split()
    long_paragraph = "x" * 50 + " " + "y " * 500
    assert all(len(c) <= 400 for c in chunk_text(long_paragraph, 400))


def test_split_is_by_document_and_deterministic():
    settings = CorpusSettings(("bible_web",), 10_000, 1000, 10, 0.5, seed=0)
    chunks = [Document("bible_web", f"doc{d}#{c}", "text") for d in range(40) for c in range(3)]
    for d in range(40):
        sides = {is_heldout(chunk, settings) for chunk in chunks[3 * d : 3 * d + 3]}
        assert len(sides) == 1
    heldout = sum(is_heldout(chunk, settings) for chunk in chunks[::3])
    assert 5 < heldout < 35
    assert unit_hash(1, "a") == unit_hash(1, "a") != unit_hash(2, "a")


def test_corpus_settings_reject_unknown_source_and_bad_fraction():
    with pytest.raises(ParamError, match=r"corpus\.sources"):
        CorpusSettings(("wikipedia",), 10_000, 1000, 10, 0.1, 0)
    with pytest.raises(ParamError, match=r"corpus\.heldout_fraction"):
        CorpusSettings(("bible_web",), 10_000, 1000, 10, 1.5, 0)


def _write_sword_module(root: Path, verses: dict[str, list[str]], wide: bool) -> None:
    """A zText module with one compressed block per testament."""
    (root / "mods.d").mkdir(parents=True)
    data = root / "modules/texts/ztext/test"
    data.mkdir(parents=True)
    (root / "mods.d/test.conf").write_text(
        "[Test]\nDataPath=./modules/texts/ztext/test/\nModDrv=zText\nSourceType=OSIS\n"
    )
    letter, record = ("c", "<III") if wide else ("b", "<IIH")
    for testament, texts in verses.items():
        raw = "".join(texts).encode()
        packed = zlib.compress(raw)
        (data / f"{testament}.{letter}zz").write_bytes(packed)
        (data / f"{testament}.{letter}zs").write_bytes(
            struct.pack("<III", 0, len(packed), len(raw))
        )
        entries, offset = [struct.pack(record, 0, 0, 0)], 0  # an empty entry first
        for text in texts:
            entries.append(struct.pack(record, 0, offset, len(text.encode())))
            offset += len(text.encode())
        (data / f"{testament}.{letter}zv").write_bytes(b"".join(entries))


@pytest.mark.parametrize("wide", [False, True])
def test_sword_reader_returns_every_verse_in_order(tmp_path, wide):
    verses = {
        "ot": ['<w lemma="x">In</w> the <w>beginning</w>.<note>a note</note>', "And God said"],
        "nt": ["<title>Heading</title>Grace<lb/>and peace"],
    }
    _write_sword_module(tmp_path, verses, wide)
    entries = list(sword.read_entries(tmp_path))
    assert [(e.testament, e.index) for e in entries] == [("ot", 1), ("ot", 2), ("nt", 1)]
    texts = [sword.osis_to_text(e.markup) for e in entries]
    assert texts == ["In the beginning.", "And God said", "Grace and peace"]


def test_missing_package_tool_names_the_alternative(monkeypatch, tmp_path):
    monkeypatch.setattr(debian.shutil, "which", lambda tool: None)
    with pytest.raises(debian.PackageToolError, match=r"apt-get.*Hugging Face"):
        debian.fetch_package("fortunes", tmp_path)
    assert not (tmp_path / "fortunes").exists()
