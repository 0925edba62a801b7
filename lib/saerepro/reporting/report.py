"""Merge every section's ``claims.json`` into ``results/REPORT.md`` and the README's claims table.

Run as ``python -m saerepro.reporting.report`` (the ``report`` stage of dvc.yaml).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from saerepro.core.atomic import atomic_write_text
from saerepro.core.paths import repo_path
from saerepro.reporting.claims import PAPERS, Claim, format_interval, format_value, read_claims

TABLE_START = "<!-- claims-table:start -->"
TABLE_END = "<!-- claims-table:end -->"


def _notebook_order(claims_file: Path) -> tuple[str, str]:
    """Sections sort by the executed notebook beside their claims (01_..., 02_...)."""
    notebooks = sorted(p.name for p in claims_file.parent.glob("*.ipynb"))
    return (notebooks[0] if notebooks else "~", claims_file.parent.name)


def collect_claims(results_root: str | Path = "results") -> dict[str, list[Claim]]:
    """Claims by section folder name, in notebook order."""
    files = sorted(repo_path(results_root).glob("*/claims.json"), key=_notebook_order)
    return {p.parent.name: read_claims(p) for p in files}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


VERDICTS = ("holds", "does not hold", "inconclusive")


def _verdict_cell(claim: Claim) -> str:
    if claim.holds is None:
        return f"**inconclusive**: {_cell(claim.reason)}"
    return f"**{claim.verdict}**"


def _measured_cell(claim: Claim) -> str:
    measured = _cell(format_value(claim.measured))
    interval = format_interval(claim.interval)
    return f"{measured} {interval}" if interval else measured


def claims_table(claims_by_section: dict[str, list[Claim]], kind: str = "claim") -> str:
    """One markdown table of every claim (or every check) of ``kind``: section, paper,
    statement, values with their interval, verdict (with the reason when inconclusive), tier."""
    lines = [
        "| section | paper | claim | paper value | measured [interval] | verdict | tier |",
        "|---|---|---|---|---|---|---|",
    ]
    for section, claims in claims_by_section.items():
        for c in claims:
            if c.kind != kind:
                continue
            lines.append(
                f"| {section} | {c.paper} {c.section} | {_cell(c.statement)} | "
                f"{_cell(format_value(c.paper_value))} | {_measured_cell(c)} | "
                f"{_verdict_cell(c)} | {c.tier} |"
            )
    return "\n".join(lines)


def verdict_counts(claims_by_section: dict[str, list[Claim]]) -> dict[str, Counter]:
    """Per section: how many claims hold, do not hold, are inconclusive; and how many checks."""
    counts = {}
    for section, claims in claims_by_section.items():
        counter = Counter(c.verdict for c in claims if c.kind == "claim")
        counter["checks"] = sum(c.kind == "check" for c in claims)
        counts[section] = counter
    return counts


def counts_table(claims_by_section: dict[str, list[Claim]]) -> str:
    """Verdicts per section, and in all (checks hold by construction: listed, not counted)."""
    counts = verdict_counts(claims_by_section)
    total = sum(counts.values(), Counter())
    lines = ["| section | " + " | ".join(VERDICTS) + " | checks |", "|---|---|---|---|---|"]
    for section, counter in [*counts.items(), ("**all**", total)]:
        cells = " | ".join(str(counter[v]) for v in (*VERDICTS, "checks"))
        lines.append(f"| {section} | {cells} |")
    return "\n".join(lines)


def readme_table(claims_by_section: dict[str, list[Claim]]) -> str:
    """What the README shows between its markers: the counts, then every claim."""
    return counts_table(claims_by_section) + "\n\n" + claims_table(claims_by_section)


BACKBONE_ROWS = {
    "model": "model",
    "layer": "residual stream after block",
    "corpus_train_tokens": "corpus train tokens",
    "cache_train_tokens": "cached activations (train, non-BOS tokens)",
    "heldout_ce": "held-out CE (nats)",
    "zero_ablation_ce": "CE with the layer zero-ablated",
    "fp16_ce_degradation": "CE change from fp16 storage",
    "bos_norm_ratio": "BOS norm / token norm at the layer",
    "dense_probe_mean_f1": "dense-probe F1, mean over tasks",
}  # results only: the speeds stay in run.json, so an identical re-run rewrites the same report


def backbone_summary(metrics: dict) -> list[str]:
    """Markdown lines describing the LLM backbone from ``results/backbone/metrics.json``."""
    lines = [
        f"## The LLM backbone ({metrics.get('tier', '?')} tier)",
        "",
        "What every LLM section stands on (`notebooks/00_model_and_data.ipynb`).",
        "",
        "| | |",
        "|---|---|",
    ]
    lines += [
        f"| {label} | {format_value(metrics[key])} |"
        for key, label in BACKBONE_ROWS.items()
        if key in metrics
    ]
    return [*lines, ""]


def read_backbone_metrics(results_root: str | Path = "results") -> dict | None:
    """The backbone's metrics (``results/backbone/metrics.json``), if it has run."""
    file = repo_path(results_root) / "backbone" / "metrics.json"
    return json.loads(file.read_text()) if file.is_file() else None


def report_markdown(claims_by_section: dict[str, list[Claim]], backbone: dict | None = None) -> str:
    """The full report: verdict counts, the backbone, the claims, the checks, and every note."""
    total = sum(verdict_counts(claims_by_section).values(), Counter())
    summary = ", ".join(f"{total[v]} {v}" for v in VERDICTS)
    parts = [
        "# Claims report",
        "",
        "Generated by `python -m saerepro.reporting.report` from `results/*/claims.json`; "
        "do not edit. The schema and how a verdict is decided: `docs/claims.md`.",
        "",
        f"{sum(total[v] for v in VERDICTS)} claims: {summary}; and {total['checks']} checks "
        "(sanity checks that hold by construction, not counted as replication).",
        "",
        counts_table(claims_by_section),
        "",
        "Papers: " + "; ".join(f"**{key}** = {name}" for key, name in PAPERS.items()) + ".",
        "",
        *(backbone_summary(backbone) if backbone else []),
        "## Claims",
        "",
        claims_table(claims_by_section),
        "",
    ]
    if total["checks"]:
        parts += ["## Checks", "", claims_table(claims_by_section, kind="check"), ""]
    parts += ["## Preconditions and notes", ""]
    for section, claims in claims_by_section.items():
        parts.append(f"### {section}")
        parts.append("")
        for c in claims:
            gates = "; ".join(
                f"{p['name']} {'passed' if p['passed'] else 'FAILED'} ({format_value(p['value'])})"
                for p in c.preconditions
            )
            text = " ".join(t for t in (f"Preconditions: {gates}." if gates else "", c.note) if t)
            if text:
                parts.append(f"- `{c.id}` ({c.verdict}): {text}")
        parts.append("")
    return "\n".join(parts)


def with_table(readme: str, table: str) -> str:
    """``readme`` with the text between the claims-table markers replaced by ``table``."""
    if TABLE_START not in readme or TABLE_END not in readme:
        raise ValueError(f"README has no claims table markers {TABLE_START} ... {TABLE_END}")
    head, rest = readme.split(TABLE_START, 1)
    _, tail = rest.split(TABLE_END, 1)
    return f"{head}{TABLE_START}\n{table}\n{TABLE_END}{tail}"


README_TIER = "cpu"  # the README's claims table shows the committed results, which are cpu-tier


def claims_tiers(claims_by_section: dict[str, list[Claim]]) -> set[str]:
    return {c.tier for claims in claims_by_section.values() for c in claims}


def write_report(results_root: str | Path = "results", readme: str | Path = "README.md") -> Path:
    """Write REPORT.md under ``results_root``; refresh the README's table only when every claim
    is of :data:`README_TIER` (a smoke or paper run leaves the README alone). Returns REPORT.md."""
    claims = collect_claims(results_root)
    markdown = report_markdown(claims, read_backbone_metrics(results_root))
    report = atomic_write_text(repo_path(results_root) / "REPORT.md", markdown)
    tiers = claims_tiers(claims)
    readme_path = repo_path(readme)
    if tiers == {README_TIER}:
        atomic_write_text(readme_path, with_table(readme_path.read_text(), readme_table(claims)))
    else:
        print(f"claims of tier(s) {sorted(tiers)}: {readme_path.name} left as it is")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--results", default="results")
    parser.add_argument("--readme", default="README.md")
    args = parser.parse_args()
    print(f"wrote {write_report(args.results, args.readme)}")


if __name__ == "__main__":
    main()
