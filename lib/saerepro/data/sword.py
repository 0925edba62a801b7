"""Read compressed SWORD Bible and commentary modules (zText, zCom, zCom4) without libsword.

A module keeps, per testament, three files: a block index (``*.bzs``/``*.czs``: offset, compressed
size, raw size as 3 little-endian uint32), zlib-compressed blocks (``*.bzz``/``*.czz``) and an
entry index (``*.bzv``/``*.czv``: block number, offset and size of each verse in its block; the size
is 16-bit in ``b`` files, 32-bit in ``c`` files).
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

TESTAMENTS = ("ot", "nt")


@dataclass(frozen=True)
class SwordEntry:
    """One verse (Bible) or verse comment (commentary), still in OSIS markup."""

    testament: str
    block: int
    index: int
    markup: str


def read_conf(conf: Path) -> dict[str, str]:
    """The ``key=value`` settings of a module's ``mods.d`` file (first value of each key)."""
    settings: dict[str, str] = {}
    for line in conf.read_text(errors="replace").splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), value.strip())
    return settings


# Entry-index records: ``b`` files keep a 16-bit size, ``c`` files (zCom4/zText4) a 32-bit one.
_ENTRY_RECORDS = {"b": "<IIH", "c": "<III"}


def _blocks(data_dir: Path, testament: str, letter: str) -> list[bytes]:
    index = (data_dir / f"{testament}.{letter}zs").read_bytes()
    packed = (data_dir / f"{testament}.{letter}zz").read_bytes()
    blocks = []
    for offset, size, _raw in struct.iter_unpack("<III", index):
        blocks.append(zlib.decompress(packed[offset : offset + size]))
    return blocks


def read_entries(sword_root: Path) -> Iterator[SwordEntry]:
    """Every non-empty entry of the one module under ``sword_root`` (``usr/share/sword``)."""
    confs = sorted((sword_root / "mods.d").glob("*.conf"))
    if len(confs) != 1:
        raise ValueError(f"expected one SWORD module in {sword_root}, found {len(confs)}")
    settings = read_conf(confs[0])
    data_dir = sword_root / settings["DataPath"].lstrip("./")
    for testament in TESTAMENTS:
        found = sorted(data_dir.glob(f"{testament}.?zs"))
        if not found or not found[0].stat().st_size:
            continue
        letter = found[0].suffix[1]
        if letter not in _ENTRY_RECORDS:
            raise ValueError(f"unknown SWORD index file {found[0].name}")
        record = _ENTRY_RECORDS[letter]
        blocks = _blocks(data_dir, testament, letter)
        entries = (data_dir / f"{testament}.{letter}zv").read_bytes()
        for index, (block, start, size) in enumerate(struct.iter_unpack(record, entries)):
            if size == 0 or block >= len(blocks):
                continue
            markup = blocks[block][start : start + size].decode("utf-8", errors="replace")
            if markup.strip():
                yield SwordEntry(testament, block, index, markup)


_NOTE = re.compile(r"<note\b.*?</note>", flags=re.DOTALL)
_TITLE = re.compile(r"<title\b.*?</title>", flags=re.DOTALL)
_BREAK = re.compile(r"<(?:lb|/?p|/?l|/?lg|/?div|/?q)\b[^>]*>")
_TAG = re.compile(r"<[^>]+>")


def osis_to_text(markup: str) -> str:
    """Plain text of an OSIS fragment: footnotes and headings dropped, tags removed."""
    text = _BREAK.sub(" ", _TITLE.sub(" ", _NOTE.sub(" ", markup)))
    return " ".join(_TAG.sub("", text).split())
