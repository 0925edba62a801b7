"""The offline probing benchmark: its catalogue, its text readers and transforms, the overlap
filter, and the tasks the smoke tier builds from real Debian packages."""

from collections import Counter
from pathlib import Path

import pytest
from saerepro.data import backbone
from saerepro.data import probing_sources as src
from saerepro.data.debian import Package
from saerepro.data.probing_catalogue import KINDS, TASKS
from saerepro.data.probing_overlap import CorpusShingles

MAN_PAGE = r""".\" Copyright notice: a comment
.TH OPEN 2 2023-02-05 "Linux man-pages 6.03"
.SH NAME
open \- open and possibly create a file
.SH SYNOPSIS
.B #include <fcntl.h>
.SH DESCRIPTION
The
.BR open ()
system call opens the file specified by
.IR pathname .
.PP
If \fBO_CREAT\fP is given, it \(em may \- create it.
.SH SEE ALSO
.BR close (2)
"""


def test_the_catalogue_has_at_least_40_tasks_of_every_kind_and_the_cpu_tier_uses_them():
    kinds = Counter(task.kind for task in TASKS.values())
    assert len(TASKS) >= 40 and set(kinds) == set(KINDS) and min(kinds.values()) >= 4
    for name, task in TASKS.items():
        assert task.classes[0].label != task.classes[1].label, name
    assert sorted(backbone.load("cpu").probing.tasks) == sorted(TASKS)


def test_troff_paragraphs_strip_markup_and_keep_sections():
    paragraphs = src.troff_paragraphs(MAN_PAGE)
    assert ("DESCRIPTION", "The open() system call opens the file specified by pathname.") in (
        paragraphs
    )
    assert ("DESCRIPTION", "If O_CREAT is given, it - may - create it.") in paragraphs
    assert ("SEE ALSO", "close(2)") in paragraphs
    assert not any("Copyright" in text or "\\" in text for _, text in paragraphs)


def _reader(texts):
    return lambda package: iter(texts)


TEXTS = [f"sentence number {i} has several words in a fixed order here" for i in range(40)]


def test_pool_halves_are_disjoint_and_cover_the_pool():
    halves = [list(src.pool_half(_reader(TEXTS), h)(None)) for h in (0, 1)]
    assert not set(halves[0]) & set(halves[1])
    assert sorted(halves[0] + halves[1]) == sorted(TEXTS)
    assert min(map(len, halves)) >= 10


def test_shuffles_keep_the_bag_and_change_the_order_deterministically():
    originals = list(src.pool_half(_reader(TEXTS), 1)(None))
    shuffled = list(src.shuffled_words(_reader(TEXTS))(None))
    assert shuffled == list(src.shuffled_words(_reader(TEXTS))(None))
    for original, text in zip(originals, shuffled, strict=True):
        assert sorted(text.split()) == sorted(original.split()) and text != original
    code = ["a = 1\nb = 2\nc = 3", "x\ny"] * 3 + [f"p{i}\nq{i}" for i in range(20)]
    bags = [sorted(c.splitlines()) for c in code]
    for text in src.shuffled_lines(_reader(code))(None):
        assert text not in code and sorted(text.splitlines()) in bags


def test_splices_join_real_halves_and_sentences_lose_their_final_mark():
    texts = [" ".join(f"w{i}_{j}" for j in range(8)) for i in range(40)]
    spliced = list(src.spliced(_reader(texts))(None))
    originals = list(src.pool_half(_reader(texts), 1)(None))
    assert len(spliced) == len(originals) and not set(spliced) & set(texts)
    first = originals[0].split()
    assert spliced[0].startswith(" ".join(first[: len(first) // 2]))
    text = ["Why are ye come? He said, Go thou. Is it well? Yes."]
    assert list(src.sentences(_reader(text), "?")(None)) == ["Why are ye come", "Is it well"]
    assert list(src.sentences(_reader(text), ".")(None)) == ["He said, Go thou", "Yes"]


def test_bible_books_map_to_the_kjv_blocks():
    package_root = Path("build/debian-packages/sword-text-kjv")
    if not (package_root / ".version").is_file():
        pytest.skip("the KJV package is fetched by the smoke tier's probing_data step")
    package = Package("sword-text-kjv", "", "", package_root)
    genesis = next(src.bible_verses("genesis")(package))
    matthew = next(src.bible_verses("matthew")(package))
    assert genesis.startswith("In the beginning God created")
    assert matthew.startswith("The book of the generation of Jesus Christ")
    with pytest.raises(ValueError, match="unknown Bible book"):
        src.bible_verses("maccabees")


def test_overlap_finds_corpus_text_and_not_rearranged_text():
    corpus = ["alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi"]
    seen = CorpusShingles(corpus)
    assert seen.seen("gamma delta epsilon zeta eta theta iota kappa lambda")
    assert seen.coverage("kappa iota theta eta zeta epsilon delta gamma beta") == 0
    assert not seen.seen("alpha beta gamma delta epsilon zeta eta theta and then other words")
    with pytest.raises(ValueError, match="threshold"):
        seen.seen("alpha", threshold=0)
