"""Running the registry's stages outside DVC: `make smoke` writes only under build/<tier>."""

import pytest
from saerepro import pipeline
from saerepro.core.checks import ParamError


def test_commands_move_data_and_results_under_the_root():
    cmd = "python -m x --data-dir data/backbone -p results_dir results/toy -p data_dir data/toy"
    assert pipeline.localised(cmd + " --results results", "smoke", "build/smoke") == (
        "python -m x --data-dir build/smoke/data/backbone -p results_dir build/smoke/results/toy"
        " -p data_dir build/smoke/data/toy --results build/smoke/results"
    )
    assert pipeline.localised("run -p tier ${tier}", "cpu", "b") == "run -p tier cpu"


def test_a_smoke_run_touches_nothing_outside_build(capsys):
    commands = pipeline.run_all("smoke", dry_run=True)
    assert len(commands) == len(pipeline.stages())
    for cmd in commands:
        paths = [w for w in cmd.split() if "/" in w and not w.startswith("notebooks/")]
        assert all(p.startswith("build/smoke/") for p in paths), cmd
        assert (
            ("${tier}" not in cmd and "-p tier smoke" in cmd)
            or "--tier smoke" in cmd
            or ("reporting.report" in cmd)
        )
    assert "[13/13] report" in capsys.readouterr().out


def test_an_unknown_tier_is_refused():
    with pytest.raises(ParamError, match="tier='gpu'"):
        pipeline.run_all("gpu", dry_run=True)
