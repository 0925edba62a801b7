"""The on-demand training benchmark stays runnable (tiny sizes here; full sizes by hand)."""

import importlib.util
import json
import sys

from saerepro.core.paths import REPO_ROOT


def _benchmark_module():
    path = REPO_ROOT / "benchmarks" / "train_step.py"
    spec = importlib.util.spec_from_file_location("train_step_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_smoke_benchmark_writes_side_by_side_results(tmp_path):
    out = tmp_path / "train_step.json"
    _benchmark_module().main(["--smoke", "--out", str(out), "--scratch", str(tmp_path / "sweep")])
    results = json.loads(out.read_text())
    shape = results["64x512_k8"]
    for path in ("stock", "fast"):
        assert shape[path]["tokens_per_s"] > 0 and shape[path]["timed_steps"] == 3
    assert shape["speedup"] == shape["fast"]["tokens_per_s"] / shape["stock"]["tokens_per_s"]
    assert shape["max_relative_mse_gap_same_steps"] < 1e-4, "same init and data, same losses"
    assert results["toy_100x50_k11"]["fast"]["samples_per_s"] > 0
    sweep = results["toy_sweep_k2_25"]
    assert sweep["ks"] == [2, 3] and sweep["fast_threads_s"] > 0
