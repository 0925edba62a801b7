import json
from dataclasses import replace

import numpy as np
import pytest
from saerepro.evals.intervals import Interval
from saerepro.reporting.claims import ClaimsLedger, format_value, read_claims
from saerepro.reporting.report import (
    TABLE_END,
    TABLE_START,
    collect_claims,
    readme_table,
    with_table,
)
from saerepro.reporting.verdicts import Criterion, Precondition, Trend

REQUIRED = {
    "id",
    "kind",
    "paper",
    "section",
    "statement",
    "paper_value",
    "measured",
    "criterion",
    "interval",
    "trend",
    "preconditions",
    "holds",
    "reason",
    "tier",
    "note",
}


def test_ledger_round_trip(tmp_path):
    ledger = ClaimsLedger("cpu")
    ledger.add("a.one", "SBW", "§3", "x < y", {"x": 1}, {"x": np.float32(0.5)}, np.bool_(True))
    ledger.add("a.two", "CU", "§4", "undecided", None, None, None, reason="why")
    path = ledger.write(tmp_path / "claims.json")
    rows = json.loads(path.read_text())
    assert all(set(r) == REQUIRED for r in rows)
    assert rows[0]["measured"] == {"x": 0.5} and rows[0]["holds"] is True
    assert [c.verdict for c in read_claims(path)] == ["holds", "inconclusive"]


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
            assert c.kind in ("claim", "check")
            assert c.id.startswith(section + ".")
            failed = [p["name"] for p in c.preconditions if not p["passed"]]
            assert c.holds is None or not failed, f"{c.id} decided with {failed} failed"


def test_readme_claims_table_is_current():
    from saerepro.core.paths import repo_path

    readme = repo_path("README.md").read_text()
    assert with_table(readme, readme_table(collect_claims())) == readme, (
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


def test_the_report_shows_no_wall_clock_figure(tmp_path):
    from saerepro.reporting.report import read_backbone_metrics, report_markdown

    folder = tmp_path / "backbone"
    folder.mkdir()
    (folder / "metrics.json").write_text('{"tier": "cpu", "heldout_ce": 2.5}')
    (folder / "run.json").write_text('{"ce_eval_tokens_per_s": 120.0, "notebook_seconds": 3.0}')
    backbone = read_backbone_metrics(tmp_path)
    assert backbone == {"tier": "cpu", "heldout_ce": 2.5}
    text = report_markdown({}, backbone)
    assert "tokens/s" not in text and "120" not in text


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


def test_a_failed_precondition_makes_any_verdict_inconclusive():
    gate = Precondition("saes_converged", 0.12, False, "<= 0.02: last doubling's MSE gain")
    ledger = ClaimsLedger("cpu")
    for holds in (True, False):
        claim = ledger.add(f"a.{holds}", "SBW", "§3", "s", 1, 1, holds, preconditions=[gate])
        assert claim.holds is None
        assert "saes_converged = 0.12" in claim.reason and "last doubling" in claim.reason
    passed = replace(gate, passed=True)
    ok = ledger.add("a.ok", "SBW", "§3", "s", 1, 1, True, preconditions=[passed])
    assert ok.holds is True and ok.reason == ""


def test_a_criterion_decides_on_the_interval():
    above = Criterion("above", 0.0, "TopK's NMSE exceeds BatchTopK's (CU Fig. 8)")
    ledger = ClaimsLedger("cpu")
    clear = ledger.add(
        "a.clear",
        "CU",
        "§4",
        "s",
        0,
        0.5,
        criterion=above,
        interval=Interval(0.1, 0.9, 0.95, "bootstrap"),
    )
    straddles = ledger.add(
        "a.straddles",
        "CU",
        "§4",
        "s",
        0,
        0.5,
        criterion=above,
        interval=Interval(-0.1, 0.9, 0.95, "bootstrap"),
    )
    wrong = ledger.add(
        "a.wrong",
        "CU",
        "§4",
        "s",
        0,
        -0.5,
        criterion=above,
        interval=Interval(-0.9, -0.1, 0.95, "bootstrap"),
    )
    assert (clear.holds, straddles.holds, wrong.holds) == (True, None, False)
    assert "straddles the criterion > 0" in straddles.reason
    assert clear.criterion.startswith("> 0 (TopK")
    band = Criterion("within", (10, 12), "true L0 = 11 ± 1")
    assert band.judge(13, Interval(12.5, 14, 0.95, "b"))[0] is False
    assert band.judge(11, Interval(10.5, 11.5, 0.95, "b"))[0] is True
    assert band.judge(12, Interval(11, 13, 0.95, "b"))[0] is None
    assert above.judge(float("nan"))[0] is None


def test_a_verdict_that_flips_under_doubling_is_inconclusive():
    ledger = ClaimsLedger("cpu")
    flips = Trend({"half": -0.003, "full": 0.003}, {"half": False, "full": True})
    steady = Trend({"half": 0.002, "full": 0.003}, {"half": True, "full": True})
    assert ledger.add("a.flips", "CU", "§4", "s", 0, 1, True, trend=flips).holds is None
    assert "not yet stable under doubling" in ledger.claims[-1].reason
    assert ledger.add("a.steady", "CU", "§4", "s", 0, 1, True, trend=steady).holds is True
    with pytest.raises(ValueError, match="budget"):
        Trend({"double": 1.0})


def test_ledger_refuses_ambiguous_or_unexplained_verdicts():
    ledger = ClaimsLedger("cpu")
    above = Criterion("above", 0.0, "why")
    with pytest.raises(ValueError, match="not both"):
        ledger.add("a", "SBW", "§3", "s", 1, 1, True, criterion=above)
    with pytest.raises(ValueError, match="criterion or a computed holds"):
        ledger.add("a", "SBW", "§3", "s", 1, 1)
    with pytest.raises(ValueError, match="give the reason"):
        ledger.add("a", "SBW", "§3", "s", 1, 1, None)
    with pytest.raises(ValueError, match="kind='claimish'"):
        ledger.add("a", "SBW", "§3", "s", 1, 1, True, kind="claimish")
    with pytest.raises(ValueError, match="why"):
        Criterion("above", 0.0, "")
    with pytest.raises(TypeError, match="passed must be a bool"):
        Precondition("p", 1, 1, "rule")


def test_the_report_counts_verdicts_per_section_and_keeps_checks_apart():
    from saerepro.reporting.report import counts_table, report_markdown

    ledger = ClaimsLedger("cpu")
    ledger.add("s.a", "SBW", "§1", "a", 1, 1, True)
    ledger.add("s.b", "SBW", "§1", "b", 1, 1, None, reason="too few positives")
    ledger.add("s.c", "SBW", "§1", "c", 1, 1, True, kind="check")
    by_section = {"s": ledger.claims}
    assert "| s | 1 | 0 | 1 | 1 |" in counts_table(by_section)
    text = report_markdown(by_section)
    assert "2 claims: 1 holds, 0 does not hold, 1 inconclusive; and 1 checks" in text
    assert "**inconclusive**: too few positives" in text
    claims_part = text.split("## Claims")[1].split("## Checks")[0]
    assert "| c |" not in claims_part and "| c |" in text.split("## Checks")[1]


def test_legacy_claims_files_still_read(tmp_path):
    path = tmp_path / "claims.json"
    row = {
        "id": "x.a",
        "paper": "SBW",
        "section": "§3",
        "statement": "s",
        "paper_value": 1,
        "measured": 1,
        "holds": None,
        "tier": "cpu",
        "note": "",
    }
    path.write_text(json.dumps([row]))
    (claim,) = read_claims(path)
    assert claim.kind == "claim" and claim.preconditions == [] and claim.verdict == "inconclusive"
    path.write_text(json.dumps([{**row, "colour": "red"}]))
    with pytest.raises(ValueError, match="unknown fields"):
        read_claims(path)


def test_a_claim_of_parts_fails_on_any_failed_part_and_is_open_on_any_open_one():
    from saerepro.reporting.verdicts import all_hold

    assert all_hold({"a": (True, ""), "b": (True, "")}) == (True, "")
    assert all_hold({"a": (True, ""), "b": (None, "straddles"), "c": (False, "")})[0] is False
    assert all_hold({"a": (True, ""), "b": (None, "straddles")}) == (None, "b: straddles")


def test_a_minimum_is_judged_as_a_band():
    from saerepro.reporting.verdicts import band_within

    assert band_within([11.0], 10, 12, "s") == (True, "")
    assert band_within([10.0, 12.0], 10, 12, "s")[0] is True
    assert band_within([15.0, 16.0], 10, 12, "s")[0] is False
    holds, reason = band_within([11.0, 14.0], 10, 12, "s_n^dec (n = 18)")
    assert holds is None and "at 11, 14" in reason
