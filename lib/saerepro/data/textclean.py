"""Turn marked-up documents (HTML, reStructuredText, fortune files) into clean plain text."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from html.parser import HTMLParser

_BLOCK_TAGS = {"p", "div", "li", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "dd", "dt", "br"}
_SKIPPED_TAGS = {"script", "style", "head", "nav", "footer"}
_VOID_TAGS = {"br", "img", "hr", "meta", "link", "input", "wbr", "col", "area", "base", "source"}


class _ParagraphParser(HTMLParser):
    """Collect the visible text of an HTML page as paragraphs.

    With ``paragraph_class`` only elements of that class (and everything inside them) count, one
    paragraph each; without it, every block-level tag starts a new paragraph.
    """

    def __init__(self, paragraph_class: str | None) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraph_class = paragraph_class
        self.paragraphs: list[str] = []
        self._parts: list[str] = []
        self._skip_depth = 0
        self._open: list[bool] = []  # per open element: does it start a selected paragraph?

    @property
    def _inside(self) -> bool:
        return self.paragraph_class is None or any(self._open)

    def flush(self) -> None:
        text = " ".join("".join(self._parts).split())
        if text:
            self.paragraphs.append(text)
        self._parts = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self._skip_depth += 1
        classes = (dict(attrs).get("class") or "").split()
        selected = self.paragraph_class in classes and not any(self._open)
        if selected or (self.paragraph_class is None and tag in _BLOCK_TAGS):
            self.flush()
        elif tag in _BLOCK_TAGS:  # a list item or line break inside a selected paragraph
            self._parts.append(" ")
        if tag not in _VOID_TAGS:
            self._open.append(selected)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        if tag in _VOID_TAGS or not self._open:
            return
        if self._open.pop() or (self.paragraph_class is None and tag in _BLOCK_TAGS):
            self.flush()
        elif tag in _BLOCK_TAGS:
            self._parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth and self._inside:
            self._parts.append(data)


def html_paragraphs(html: str, paragraph_class: str | None = None) -> list[str]:
    """Paragraphs of visible text; with ``paragraph_class`` only elements of that class."""
    parser = _ParagraphParser(paragraph_class)
    parser.feed(html)
    parser.close()
    parser.flush()
    return parser.paragraphs


_RST_ROLE = re.compile(r":[\w-]+(?::[\w-]+)?:`([^`]*)`")
_RST_LINK = re.compile(r"`([^`<]*?)\s*<[^>]*>`_+")
_RST_LITERAL = re.compile(r"``([^`]*)``")
_RST_DIRECTIVE = re.compile(r"^\s*\.\.\s")
_RST_RULE = re.compile(r"^\s*([=\-~^\"'`#*+.:_])\1{2,}\s*$")


def rst_to_text(rst: str) -> str:
    """reStructuredText with roles, links, directives, comments and section rules removed."""
    lines = []
    for line in rst.splitlines():
        if _RST_DIRECTIVE.match(line) or _RST_RULE.match(line):
            lines.append("")
            continue
        line = _RST_ROLE.sub(lambda m: m.group(1).lstrip("~!"), line)
        line = _RST_LINK.sub(r"\1", line)
        lines.append(_RST_LITERAL.sub(r"\1", line))
    return normalise_blocks("\n".join(lines))


def fortunes(text: str) -> list[str]:
    """The individual fortunes of a fortune(6) data file (separated by lines holding ``%``)."""
    pieces = re.split(r"^%\s*$", text, flags=re.MULTILINE)
    return [piece.strip() for piece in pieces if piece.strip()]


def normalise_blocks(text: str) -> str:
    """Collapse spaces within lines and runs of blank lines to one; strip each line's end."""
    lines = [" ".join(line.split()) if line.strip() else "" for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def text_fingerprint(text: str) -> str:
    """A hash of the text up to case and whitespace, for finding duplicates."""
    return hashlib.sha1(" ".join(text.lower().split()).encode("utf-8")).hexdigest()


def deduplicate(texts: Iterable[str]) -> Iterator[str]:
    """The texts in order, each duplicate (up to case and whitespace) dropped after the first."""
    seen: set[str] = set()
    for text in texts:
        key = text_fingerprint(text)
        if key not in seen:
            seen.add(key)
            yield text
