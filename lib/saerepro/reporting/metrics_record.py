"""What a section writes about its run, split by who reads it.

- ``metrics.json``: the headline numbers (the DVC metric: small enough for ``dvc metrics show``
  and ``dvc exp show``): every top-level entry of at most :data:`HEADLINE_LEAVES` values.
- ``details.json``: the larger per-SAE tables (a results file, not a DVC metric).
- ``run.json``: how the run went, not what it found: wall-clock figures (every key naming
  seconds, a rate per second or a speed-up) and provenance (commit, package versions). It is
  not a DVC output, so an identical re-run changes no metric and no lock entry.
"""

from __future__ import annotations

import platform
import subprocess
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from saerepro.core.atomic import atomic_write_json
from saerepro.core.paths import REPO_ROOT

HEADLINE_LEAVES = 12
METRICS_FILE, DETAILS_FILE, RUN_FILE = "metrics.json", "details.json", "run.json"
PACKAGES = ("sae-lens", "torch", "transformer-lens")


def leaves(value: Any) -> int:
    """How many scalar values ``value`` holds."""
    if isinstance(value, Mapping):
        return sum(leaves(v) for v in value.values())
    if isinstance(value, list | tuple):
        return sum(leaves(v) for v in value)
    return 1


def is_timing(key: str) -> bool:
    return "seconds" in key or key.endswith("_per_s") or key.endswith("speedup")


def split_timings(metrics: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``metrics`` as (results, timings): every timing entry, at any depth, moves to timings
    under its own path (an entry left empty by the move is dropped)."""
    kept, timings = {}, {}
    for key, value in metrics.items():
        if is_timing(key):
            timings[key] = value
        elif isinstance(value, Mapping):
            inner, inner_timings = split_timings(value)
            if inner or not inner_timings:
                kept[key] = inner
            if inner_timings:
                timings[key] = inner_timings
        else:
            kept[key] = value
    return kept, timings


def without_timings(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """``metrics`` less its wall-clock entries (what a notebook may show: the same every run)."""
    return split_timings(metrics)[0]


def split_metrics(
    metrics: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """``metrics`` as (headline, details, timings): the timings at any depth, then each
    remaining top-level entry by its size."""
    results, timings = split_timings(metrics)
    headline, details = {}, {}
    for key, value in results.items():
        if leaves(value) <= HEADLINE_LEAVES:
            headline[key] = value
        else:
            details[key] = value
    return headline, details, timings


def provenance() -> dict[str, Any]:
    """The commit the code ran at (and whether the tree was dirty) and the package versions."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True, check=True
            )
        except (OSError, subprocess.CalledProcessError):
            return None
        return done.stdout.strip()

    status = git("status", "--porcelain", "--untracked-files=no")
    return {
        "commit": git("rev-parse", "HEAD"),
        "dirty": None if status is None else bool(status),
        "python": platform.python_version(),
        **{name: metadata.version(name) for name in PACKAGES},
    }


def write_metrics(
    results_dir: str | Path, metrics: Mapping[str, Any], run: Mapping[str, Any] | None = None
) -> None:
    """Write ``metrics`` as metrics.json, details.json and run.json in ``results_dir``; ``run``
    replaces the provenance record (default: :func:`provenance` now)."""
    headline, details, timings = split_metrics(metrics)
    folder = Path(results_dir)
    atomic_write_json(folder / METRICS_FILE, headline)
    atomic_write_json(folder / DETAILS_FILE, details)
    atomic_write_json(folder / RUN_FILE, {**timings, **(run if run is not None else provenance())})
