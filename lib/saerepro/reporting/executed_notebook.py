"""Tidy an executed notebook for the repository: a reader sees results, not the run's noise.

Each notebook stage runs this on papermill's output. It keeps every result and every figure and
changes what depends on the run rather than on its numbers:

- a text progress bar is reduced to its final state, without its clock (``[00:12<00:00,
  1.2it/s]``), and tqdm's ``IProgress not found`` warning is dropped;
- consecutive outputs to one stream are joined (how text is cut into messages depends on timing);
- absolute paths of the machine (the repository root) are made relative, in the outputs and in
  papermill's metadata;
- the clock times (papermill's start, end and duration, the kernel's execution timestamps) are
  dropped, and papermill's injected-parameters cell gets a fixed id instead of a random one.

Two runs that compute the same numbers give the same file, so an identical re-run changes no DVC
output.

``python -m saerepro.reporting.executed_notebook NOTEBOOK [--root DIR]``
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

import nbformat

from saerepro.core.atomic import atomic_write_text
from saerepro.core.paths import REPO_ROOT, repo_path

PROGRESS = re.compile(r"^\r(?P<desc>[^\r\n]*?):\s+\d+%\|")
BAR_CLOCK = re.compile(r"\s*\[[\d:]+<[^\[\]]*\]\s*$")  # tqdm's [00:12<00:00, 1.2it/s]
IPROGRESS = "TqdmWarning: IProgress not found"
CLOCK_KEYS = ("start_time", "end_time", "duration")  # papermill's, per cell and per notebook
INJECTED = "injected-parameters"  # the tag of the cell papermill adds


def is_progress(output: dict[str, Any]) -> bool:
    return output.get("output_type") == "stream" and bool(PROGRESS.match(_text(output)))


def _text(output: dict[str, Any]) -> str:
    text = output.get("text", "")
    return "".join(text) if isinstance(text, list) else text


def without_iprogress_warning(text: str) -> str:
    """``text`` less tqdm's ipywidgets warning and the source line it quotes."""
    lines = text.splitlines(keepends=True)
    kept, skip_next = [], False
    for line in lines:
        if IPROGRESS in line:
            skip_next = True
            continue
        if skip_next and line.startswith("  "):
            skip_next = False
            continue
        skip_next = False
        kept.append(line)
    return "".join(kept)


def tidy_outputs(outputs: list[dict[str, Any]], root: str) -> list[dict[str, Any]]:
    """``outputs`` of one cell with each progress bar at its final state, the ipywidgets warning
    dropped and ``root/`` removed from every path."""
    kept: list[dict[str, Any]] = []
    last_bar: dict[str, int] = {}  # a bar's description -> its output's index in ``kept``
    for output in outputs:
        if output.get("output_type") == "stream":
            text = _text(output)
            if IPROGRESS in text:
                text = without_iprogress_warning(text)
                if not text:
                    continue
                output = {**output, "text": text}
            if text.strip() == "" and output.get("name") == "stderr":
                continue  # the newline tqdm prints when a bar closes
            match = PROGRESS.match(text)
            if match:
                bar = BAR_CLOCK.sub("", text.lstrip("\r").rstrip())
                line = {**output, "text": bar + "\n"}
                desc = match.group("desc")
                if desc in last_bar:
                    kept[last_bar[desc]] = line
                else:
                    last_bar[desc] = len(kept)
                    kept.append(line)
                continue
        kept.append(_relative(output, root))
    return merged_streams(kept)


def merged_streams(outputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``outputs`` with each run of consecutive stream outputs to the same stream joined into one
    (how a cell's text was cut into messages depends on the timing of its flushes)."""
    merged: list[dict[str, Any]] = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and output.get("output_type") == "stream"
            and previous.get("output_type") == "stream"
            and previous.get("name") == output.get("name")
        ):
            merged[-1] = {**previous, "text": _text(previous) + _text(output)}
        else:
            merged.append(output)
    return merged


def _relative(value: Any, root: str) -> Any:
    """``value`` (a notebook output, any nesting) with ``root/`` removed from its strings."""
    if isinstance(value, str):
        return value.replace(root.rstrip("/") + "/", "")
    if isinstance(value, list):
        return [_relative(v, root) for v in value]
    if isinstance(value, dict):
        return {k: _relative(v, root) for k, v in value.items()}
    return value


def without_clocks(metadata: dict[str, Any]) -> dict[str, Any]:
    """A cell's or notebook's ``metadata`` less the run's clock times."""
    kept = {k: v for k, v in metadata.items() if k != "execution"}  # the kernel's timestamps
    if isinstance(kept.get("papermill"), dict):
        kept["papermill"] = {k: v for k, v in kept["papermill"].items() if k not in CLOCK_KEYS}
    return kept


def tidy(notebook: str | Path, root: str | Path = REPO_ROOT) -> Path:
    """Rewrite ``notebook`` in place (atomically), tidied; returns its path."""
    path = repo_path(notebook)
    content = nbformat.reads(path.read_text(), as_version=nbformat.NO_CONVERT)
    for cell in content.cells:
        cell["metadata"] = nbformat.from_dict(without_clocks(dict(cell.get("metadata", {}))))
        if INJECTED in cell["metadata"].get("tags", []):
            cell["id"] = INJECTED  # papermill draws a random id for the cell it adds
        if cell.get("cell_type") == "code":
            outputs = tidy_outputs([dict(o) for o in cell.get("outputs", [])], str(root))
            cell["outputs"] = [nbformat.from_dict(o) for o in outputs]
    # papermill records the input and output paths it was given (absolute, from run_notebook)
    metadata = without_clocks(_relative(dict(content.metadata), str(root)))
    content.metadata = nbformat.from_dict(metadata)
    return atomic_write_text(path, nbformat.writes(content))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook")
    parser.add_argument("--root", default=str(REPO_ROOT), help="the path prefix to remove")
    args = parser.parse_args(argv)
    tidy(args.notebook, args.root)


if __name__ == "__main__":
    main()
