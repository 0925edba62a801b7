import json

from saerepro.reporting.metrics_record import (
    HEADLINE_LEAVES,
    provenance,
    split_metrics,
    without_timings,
    write_metrics,
)


def test_headline_details_and_timings_split_by_rule():
    metrics = {
        "tier": "cpu",
        "mse_k5": {"learned": 2.7, "ground_truth": 4.8},
        "per_sae": {f"sae{i}": i for i in range(HEADLINE_LEAVES + 1)},
        "stage_seconds": 12.5,
        "cache_tokens_per_s": 1000.0,
        "bf16_autocast_speedup": 0.4,
    }
    headline, details, timings = split_metrics(metrics)
    assert headline == {"tier": "cpu", "mse_k5": {"learned": 2.7, "ground_truth": 4.8}}
    assert list(details) == ["per_sae"]
    assert list(timings) == ["stage_seconds", "cache_tokens_per_s", "bf16_autocast_speedup"]


def test_write_metrics_keeps_wall_clock_out_of_the_metric(tmp_path):
    write_metrics(tmp_path, {"tier": "smoke", "nmse": 0.1, "stage_seconds": 3.0})
    assert json.loads((tmp_path / "metrics.json").read_text()) == {"tier": "smoke", "nmse": 0.1}
    assert json.loads((tmp_path / "details.json").read_text()) == {}
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["stage_seconds"] == 3.0 and run["sae-lens"] == provenance()["sae-lens"]
    assert "commit" in run


def test_timings_leave_the_metrics_at_any_depth():
    metrics = {
        "nmse": 0.1,
        "per_sae": {"w64": {"nmse": 0.2, "seconds": 4.0}, "w128": {"nmse": 0.3, "seconds": 9.0}},
        "speed": {"fp32_tokens_per_s": 900.0},
    }
    headline, details, timings = split_metrics(metrics)
    assert headline == {
        "nmse": 0.1,
        "per_sae": {"w64": {"nmse": 0.2}, "w128": {"nmse": 0.3}},
    }
    assert details == {}
    assert timings == {
        "per_sae": {"w64": {"seconds": 4.0}, "w128": {"seconds": 9.0}},
        "speed": {"fp32_tokens_per_s": 900.0},
    }
    assert without_timings(metrics) == headline
