import json

import numpy as np
import pytest
from saerepro.reporting.claims import ClaimsLedger, format_value, read_claims
from saerepro.reporting.report import (
    TABLE_END,
    TABLE_START,
    claims_table,
    collect_claims,
    with_table,
)

REQUIRED = {
    "id",
    "paper",
    "section",
    "statement",
    "paper_value",
    "measured",
    "holds",
    "tier",
    "note",
}


def test_ledger_round_trip(tmp_path):
    ledger = ClaimsLedger("cpu")
    ledger.add("a.one", "SBW", "§3", "x < y", {"x": 1}, {"x": np.float32(0.5)}, np.bool_(True))
    ledger.add("a.two", "CU", "§4", "undecided", None, None, None, note="why")
    path = ledger.write(tmp_path / "claims.json")
    rows = json.loads(path.read_text())
    assert all(set(r) == REQUIRED for r in rows)
    assert rows[0]["measured"] == {"x": 0.5} and rows[0]["holds"] is True
    assert [c.verdict for c in read_claims(path)] == ["holds", "undecided"]


def test_ledger_refuses_typed_in_or_malformed_claims():
    ledger = ClaimsLedger("cpu")
    with pytest.raises(TypeError, match="bool computed"):
        ledger.add("a", "SBW", "§3", "s", 1, 1, "yes")
    with pytest.raises(ValueError, match="paper='XYZ'"):
        ledger.add("a", "XYZ", "§3", "s", 1, 1, True)
    ledger.add("a", "SBW", "§3", "s", 1, 1, True)
    with pytest.raises(ValueError, match="already"):
        ledger.add("a", "SBW", "§3", "s", 1, 1, False)


def test_format_value():
    assert format_value(2.73456) == "2.73"
    assert format_value(0.999997) == "0.999997", "no near-integer rounds to an integer"
    assert format_value(10.9525) == "10.9525"
    assert format_value(11.0) == "11"
    assert format_value({"learned": 2.7, "ground_truth": 4.88}) == "learned 2.7, ground truth 4.88"
    assert format_value(None) == "–"
    assert format_value({"auc": float("nan"), "x": float("inf")}) == "auc nan, x inf"


def test_table_replaces_only_the_marked_region():
    readme = f"intro\n{TABLE_START}\nold\n{TABLE_END}\noutro\n"
    out = with_table(readme, "| new |")
    assert out == f"intro\n{TABLE_START}\n| new |\n{TABLE_END}\noutro\n"
    with pytest.raises(ValueError, match="markers"):
        with_table("no markers", "| new |")


def test_committed_claims_follow_the_schema():
    for section, claims in collect_claims().items():
        assert claims, f"{section} has an empty claims file"
        for c in claims:
            assert c.holds in (True, False, None)
            assert c.tier in ("smoke", "cpu", "paper")
            assert c.id.startswith(section + ".")


def test_readme_claims_table_is_current():
    from saerepro.core.paths import repo_path

    readme = repo_path("README.md").read_text()
    assert with_table(readme, claims_table(collect_claims())) == readme, (
        "README claims table is stale: run `python -m saerepro.reporting.report`"
    )


def test_sections_follow_notebook_order(tmp_path):
    for folder, notebook in [("alpha", "02_a.ipynb"), ("zeta", "01_z.ipynb")]:
        ledger = ClaimsLedger("cpu")
        ledger.add(f"{folder}.c", "SBW", "§1", "s", 1, 1, True)
        ledger.write(tmp_path / folder / "claims.json")
        (tmp_path / folder / notebook).write_text("{}")
    assert list(collect_claims(tmp_path)) == ["zeta", "alpha"]


def test_report_shows_the_backbone_when_its_metrics_exist():
    from saerepro.reporting.report import report_markdown

    backbone = {"tier": "cpu", "model": "m", "heldout_ce": 2.5, "layer": 8}
    text = report_markdown({}, backbone)
    assert "## The LLM backbone (cpu tier)" in text
    assert "| held-out CE (nats) | 2.5 |" in text
    assert "LLM backbone" not in report_markdown({})


def test_an_off_tier_report_leaves_the_readme_alone(tmp_path):
    from saerepro.reporting.report import write_report

    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{TABLE_START}\nstale-table\n{TABLE_END}\n")
    for tier in ("smoke", "cpu"):
        ledger = ClaimsLedger(tier)
        ledger.add("toy_l0.c", "SBW", "§1", "s", 1, 1, True)
        ledger.write(tmp_path / "results" / "toy_l0" / "claims.json")
        (tmp_path / "results" / "toy_l0" / "01_toy_l0.ipynb").write_text("{}")
        write_report(tmp_path / "results", readme)
        assert (tmp_path / "results" / "REPORT.md").is_file()
        assert ("stale-table" in readme.read_text()) == (tier == "smoke")
