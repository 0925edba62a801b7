"""What a built folder was built with, so that a folder built with other params is never trusted.

A build step writes ``built_with.json`` into its folder once the folder is complete: the params
that decide its content (not batch sizes or worker counts, which change only speed). Before
reusing a folder, a caller compares that record with the params it would build with now;
:func:`differences` names every parameter that differs, and a folder without a record (built by
older code, or interrupted before the record was written) counts as differing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from saerepro.core.atomic import atomic_write_json

RECORD_FILE = "built_with.json"


def plain(value: Any) -> Any:
    """``value`` as JSON would give it back (tuples as lists), so records compare equal."""
    return json.loads(json.dumps(value))


def write_record(folder: str | Path, record: Mapping[str, Any]) -> Path:
    """Record in ``folder`` what it was built with."""
    return atomic_write_json(Path(folder) / RECORD_FILE, plain(record))


def read_record(folder: str | Path) -> dict[str, Any] | None:
    """What ``folder`` records it was built with, or None where it records nothing."""
    file = Path(folder) / RECORD_FILE
    return json.loads(file.read_text()) if file.is_file() else None


def differences(built: Mapping[str, Any] | None, wanted: Mapping[str, Any]) -> list[str]:
    """Every parameter whose value in ``built`` is not the one in ``wanted``, as
    ``"name: built with X, asked for Y"`` (nested mappings by dotted name); ``built`` None
    gives one entry saying the folder records nothing."""
    if built is None:
        return [f"no {RECORD_FILE} (built by older code, or interrupted)"]
    return _differences(built, plain(wanted), "")


def _differences(built: Mapping[str, Any], wanted: Mapping[str, Any], prefix: str) -> list[str]:
    found = []
    for key in sorted(set(built) | set(wanted)):
        name = f"{prefix}{key}"
        old, new = built.get(key), wanted.get(key)
        if isinstance(old, Mapping) and isinstance(new, Mapping):
            found += _differences(old, new, f"{name}.")
        elif old != new:
            found.append(f"{name}: built with {old!r}, asked for {new!r}")
    return found
