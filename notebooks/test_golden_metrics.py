"""The smoke-tier numbers every notebook wrote, against committed golden values.

nbval only shows that the notebooks run; this shows that what they compute has not moved.
pytest collects this file after the notebooks in this folder (``make test`` runs them first).
Set ``SAEREPRO_UPDATE_GOLDEN=1`` to rewrite the golden file from the current smoke results,
after checking that the change is meant.

Tolerance: |measured - golden| <= ABS + REL * |golden|. Smoke SAEs are tiny and short-trained, so
a value may move a little between CPUs (their BLAS kernels round differently); a change of the
code that computes it moves it far more.
"""

import json
import math
import os

import pytest
from saerepro import pipeline
from saerepro.core.paths import REPO_ROOT
from saerepro.reporting.metrics_record import is_timing

SMOKE_RESULTS = REPO_ROOT / "build" / "smoke" / "results"
GOLDEN = REPO_ROOT / "tests" / "golden" / "smoke_metrics.json"
ABS, REL = 0.05, 0.1
SECTIONS = ("backbone", *pipeline.SECTION_NAMES)


def flatten(value, prefix=""):
    """``{"a.b[0]": 1.0, ...}``: every number and string of a nested record (bools left out:
    a smoke-tier verdict is not expected to hold either way; wall-clock entries left out)."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not is_timing(str(key)):  # wall clock, at any depth, is not a result
                out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list):
        out = {}
        for i, item in enumerate(value):
            out.update(flatten(item, f"{prefix}[{i}]"))
        return out
    if isinstance(value, bool) or value is None:
        return {}
    return {prefix: value}


def measured(section: str) -> dict:
    folder = SMOKE_RESULTS / section
    if not (folder / "metrics.json").is_file():
        pytest.fail(f"no smoke results in {folder}: run the notebooks first (make test does)")
    record = json.loads((folder / "metrics.json").read_text())
    if (folder / "details.json").is_file():
        record.update(json.loads((folder / "details.json").read_text()))
    return flatten(record)


def test_golden_file_covers_every_section():
    if os.environ.get("SAEREPRO_UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps({s: measured(s) for s in SECTIONS}, indent=1) + "\n")
    assert set(json.loads(GOLDEN.read_text())) == set(SECTIONS)


@pytest.mark.parametrize("section", SECTIONS)
def test_smoke_metrics_match_the_golden_values(section):
    golden = json.loads(GOLDEN.read_text())[section]
    got = measured(section)
    assert set(got) == set(golden), f"keys changed: {sorted(set(got) ^ set(golden))[:10]}"
    moved = []
    for key, want in golden.items():
        value = got[key]
        if isinstance(want, str):
            if value != want:
                moved.append(f"{key}: {value!r} (golden {want!r})")
        elif math.isnan(want):
            if not math.isnan(value):  # undefined at the smoke tier (e.g. an AUC of one class)
                moved.append(f"{key}: {value} (golden nan)")
        elif not (math.isfinite(value) and abs(value - want) <= ABS + REL * abs(want)):
            moved.append(f"{key}: {value} (golden {want})")
    assert not moved, f"{len(moved)} of {len(golden)} smoke values moved: {moved[:8]}"
