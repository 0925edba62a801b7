"""The offline sparse-probing benchmark: 42 binary tasks, each two classes of Debian-package text.

Four kinds, as in Kantamneni et al.'s benchmark spread over kinds of knowledge:

- ``language``: look-alike language pairs, mostly from the Debian Administrator's Handbook's
  translations (paragraph-aligned, so topic does not give the language away);
- ``code``: look-alike programming languages from source and library packages;
- ``topic``: Bible books and genres (KJV), man-page sections, documentation subjects, German
  fortune files by theme;
- ``syntax``: original vs word- or line-shuffled text, coherent vs spliced sentences, questions vs
  statements with the final mark removed; in the shuffle and splice tasks both classes come from
  one pool of texts, so a bag of tokens cannot tell them apart.

Sources overlapping the SAE training corpus (the WEB Bible, the English handbook, English
fortunes, the Python and Linux docs) are avoided or left to the overlap filter in
:mod:`saerepro.data.probing_overlap`.
"""

from __future__ import annotations

from dataclasses import dataclass

from saerepro.data import probing_sources as src

KINDS = ("language", "code", "topic", "syntax")


@dataclass(frozen=True)
class ClassSource:
    """Where one class of a task comes from."""

    label: str
    package: str
    read: src.Reader
    keep_lines: bool = False  # code keeps its line breaks; prose has its whitespace collapsed


@dataclass(frozen=True)
class TaskSpec:
    """A binary task: its kind and its two classes (label 0, label 1)."""

    kind: str
    classes: tuple[ClassSource, ClassSource]

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"task kind {self.kind!r}: use one of {KINDS}")


HANDBOOK = "debian-handbook"
KJV = "sword-text-kjv"


def _handbook_pair(first: tuple[str, str], second: tuple[str, str]) -> TaskSpec:
    return TaskSpec(
        "language",
        tuple(ClassSource(name, HANDBOOK, src.handbook(code)) for name, code in (first, second)),
    )


def _bible_pair(label0: str, books0: list[str], label1: str, books1: list[str]) -> TaskSpec:
    return TaskSpec(
        "topic",
        (
            ClassSource(label0, KJV, src.bible_verses(*books0)),
            ClassSource(label1, KJV, src.bible_verses(*books1)),
        ),
    )


def _code(label: str, package: str, folder: str, *patterns: str) -> ClassSource:
    return ClassSource(label, package, src.code_snippets(folder, *patterns), keep_lines=True)


def _man(label: str, package: str, section: int, language: str = "") -> ClassSource:
    folder = f"usr/share/man/{language}" if language else "usr/share/man"
    return ClassSource(label, package, src.man_pages(section, folder))


def _pair(kind: str, first: ClassSource, second: ClassSource) -> TaskSpec:
    return TaskSpec(kind, (first, second))


def _original_vs(transform: src.Reader, base: src.Reader, package: str, label: str, lines=False):
    return _pair(
        "syntax",
        ClassSource("original", package, src.pool_half(base, 0), keep_lines=lines),
        ClassSource(label, package, transform, keep_lines=lines),
    )


PYTHON = _code("python", "libpython3.11-stdlib", "usr/lib/python3.11", "*.py")
PERL = _code("perl", "perl-modules-5.36", "usr/share/perl", "*.pm")
RUBY = _code("ruby", "libruby3.1", "usr/lib/ruby/3.1.0", "*.rb")
C = _code("c", "libc6-dev", "usr/include", "*.h")
SHELL = _code("shell", "bash-completion", "usr/share/bash-completion", "*")
GERMAN_FORTUNES = "usr/share/games/fortunes/de"
LINUX_DOCS = "usr/share/doc/linux-doc-6.1/html/_sources"
REFERENCE_EN = src.reference_paragraphs("en")
KJV_VERSES = src.testament("nt")
GOSPELS = src.NT_BOOKS[:4]
PAULINE = src.NT_BOOKS[5:18]

TASKS: dict[str, TaskSpec] = {
    # --- language -------------------------------------------------------------------------
    "lang_german_dutch": _handbook_pair(("german", "de-DE"), ("dutch", "nl-NL")),
    "lang_spanish_portuguese": _handbook_pair(("spanish", "es-ES"), ("portuguese", "pt-BR")),
    "lang_spanish_catalan": _handbook_pair(("spanish", "es-ES"), ("catalan", "ca-ES")),
    "lang_french_catalan": _handbook_pair(("french", "fr-FR"), ("catalan", "ca-ES")),
    "lang_french_italian": _handbook_pair(("french", "fr-FR"), ("italian", "it-IT")),
    "lang_spanish_italian": _handbook_pair(("spanish", "es-ES"), ("italian", "it-IT")),
    "lang_italian_portuguese": _handbook_pair(("italian", "it-IT"), ("portuguese", "pt-BR")),
    "lang_swedish_norwegian": _handbook_pair(("swedish", "sv-SE"), ("norwegian", "nb-NO")),
    "lang_czech_polish": _handbook_pair(("czech", "cs-CZ"), ("polish", "pl-PL")),
    "lang_german_dutch_manpages": _pair(
        "language", _man("german", "manpages-de", 1, "de"), _man("dutch", "manpages-nl", 1, "nl")
    ),
    "lang_spanish_portuguese_manpages": _pair(
        "language",
        _man("spanish", "manpages-es", 1, "es"),
        _man("portuguese", "manpages-pt-br", 1, "pt_BR"),
    ),
    "lang_english_german": _pair(
        "language",
        ClassSource("english", "debian-reference-en", REFERENCE_EN),
        ClassSource("german", "debian-reference-de", src.reference_paragraphs("de")),
    ),
    "lang_spanish_italian_fortunes": _pair(
        "language",
        ClassSource("spanish", "fortunes-es", src.fortune_files("usr/share/games/fortunes/es")),
        ClassSource("italian", "fortunes-it", src.fortune_files("usr/share/games/fortunes/it")),
    ),
    # --- code -----------------------------------------------------------------------------
    "code_python_perl": _pair("code", PYTHON, PERL),
    "code_c_shell": _pair("code", C, SHELL),
    "code_c_cpp": _pair(
        "code", C, _code("c++", "libstdc++-12-dev", "usr/include/c++/12/bits", "*.h", "*.tcc")
    ),
    "code_perl_ruby": _pair("code", PERL, RUBY),
    "code_python_ruby": _pair("code", PYTHON, RUBY),
    "code_shell_makefile": _pair(
        "code", SHELL, _code("makefile", "automake", "usr/share/automake-1.16/am", "*.am")
    ),
    "code_cmake_m4": _pair(
        "code",
        _code("cmake", "cmake-data", "usr/share/cmake-3.25/Modules", "*.cmake"),
        _code("m4", "autoconf", "usr/share/autoconf", "*.m4"),
    ),
    "code_tcl_python": _pair(
        "code", _code("tcl", "libtcl8.6", "usr/share/tcltk/tcl8.6", "*.tcl"), PYTHON
    ),
    "code_vim_python": _pair(
        "code", _code("vimscript", "vim-runtime", "usr/share/vim/vim90/autoload", "*.vim"), PYTHON
    ),
    # --- topic ----------------------------------------------------------------------------
    "bible_testament": _pair(
        "topic",
        ClassSource("old_testament", KJV, src.testament("ot")),
        ClassSource("new_testament", KJV, src.testament("nt")),
    ),
    "bible_law_prophets": _bible_pair("law", src.OT_BOOKS[:5], "prophets", src.OT_BOOKS[22:]),
    "bible_psalms_proverbs": _bible_pair("psalms", ["psalms"], "proverbs", ["proverbs"]),
    "bible_gospels_epistles": _bible_pair("gospels", GOSPELS, "epistles", src.NT_BOOKS[5:25]),
    "bible_matthew_luke": _bible_pair("matthew", ["matthew"], "luke", ["luke"]),
    "bible_kings_chronicles": _bible_pair(
        "kings", ["1kings", "2kings"], "chronicles", ["1chronicles", "2chronicles"]
    ),
    "bible_pauline_general": _bible_pair("pauline", PAULINE, "general", src.NT_BOOKS[18:25]),
    "commentary_author": _pair(
        "topic",
        ClassSource("henry", "sword-comm-mhcc", src.commentary_sentences),
        ClassSource("spurgeon", "sword-comm-tdavid", src.commentary_sentences),
    ),
    "man_syscalls_library": _pair(
        "topic", _man("system_calls", "manpages-dev", 2), _man("library", "manpages-dev", 3)
    ),
    "man_formats_overviews": _pair(
        "topic", _man("file_formats", "manpages", 5), _man("overviews", "manpages", 7)
    ),
    "man_devices_overviews": _pair(
        "topic", _man("devices", "manpages", 4), _man("overviews", "manpages", 7)
    ),
    "docs_policy_devref": _pair(
        "topic",
        ClassSource(
            "policy",
            "debian-policy",
            src.rst_paragraphs("usr/share/doc/debian-policy/policy.html/_sources"),
        ),
        ClassSource(
            "developers_reference",
            "developers-reference",
            src.rst_paragraphs("usr/share/developers-reference/_sources"),
        ),
    ),
    "linuxdoc_filesystems_networking": _pair(
        "topic",
        ClassSource(
            "filesystems",
            "linux-doc-6.1",
            src.rst_paragraphs(f"{LINUX_DOCS}/filesystems"),
        ),
        ClassSource(
            "networking",
            "linux-doc-6.1",
            src.rst_paragraphs(f"{LINUX_DOCS}/networking"),
        ),
    ),
    "linuxdoc_mm_scheduler": _pair(
        "topic",
        ClassSource("memory", "linux-doc-6.1", src.rst_paragraphs(f"{LINUX_DOCS}/mm")),
        ClassSource(
            "scheduler",
            "linux-doc-6.1",
            src.rst_paragraphs(f"{LINUX_DOCS}/scheduler"),
        ),
    ),
    "fortunes_de_computers_football": _pair(
        "topic",
        ClassSource(
            "computers", "fortunes-de", src.fortune_files(GERMAN_FORTUNES, ("computer", "linuxtag"))
        ),
        ClassSource("football", "fortunes-de", src.fortune_files(GERMAN_FORTUNES, ("fussball",))),
    ),
    "fortunes_de_jokes_quotes": _pair(
        "topic",
        ClassSource("jokes", "fortunes-de", src.fortune_files(GERMAN_FORTUNES, ("witze",))),
        ClassSource("quotes", "fortunes-de", src.fortune_files(GERMAN_FORTUNES, ("zitate",))),
    ),
    # --- syntax ---------------------------------------------------------------------------
    "syntax_word_order": _original_vs(
        src.shuffled_words(REFERENCE_EN), REFERENCE_EN, "debian-reference-en", "shuffled"
    ),
    "syntax_spliced": _original_vs(src.spliced(KJV_VERSES), KJV_VERSES, KJV, "spliced"),
    "syntax_code_line_order": _original_vs(
        src.shuffled_lines(PYTHON.read), PYTHON.read, PYTHON.package, "shuffled", lines=True
    ),
    "syntax_question": _pair(
        "syntax",
        ClassSource("statement", KJV, src.sentences(src.testament("ot"), ".")),
        ClassSource("question", KJV, src.sentences(src.testament("ot"), "?")),
    ),
}
