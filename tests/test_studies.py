"""The on-demand studies stay runnable (tiny sizes here; full sizes by hand)."""

import importlib.util
import sys

import pandas as pd
from saerepro.core.paths import REPO_ROOT


def _study(name):
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "studies" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_the_aligned_dead_latents_study_records_every_variant(tmp_path, activation_cache):
    folder = str(activation_cache.folder)
    _study("aligned_dead_latents").main(
        [
            "--smoke",
            "--train-dir",
            folder,
            "--heldout-dir",
            folder,
            "--out",
            str(tmp_path),
            "--workers",
            "1",
        ]
    )
    table = pd.read_csv(tmp_path / "aligned_dead_latents.csv")
    assert len(table) == 8 and table.heldout_dead_fraction.between(0, 1).all()
    assert table.final_encoder_norm.gt(0).all()
    fixed = table[table.variant.str.startswith("fixed")]
    assert fixed.final_coefficient.isna().all(), "a fixed coefficient has no controller"
    history = pd.read_csv(tmp_path / "aligned_dead_latents_history.csv")
    assert set(history.variant) == set(table.variant) and history.step.max() > 0


def test_the_l0_dither_study_records_every_centre(tmp_path):
    summary = _study("l0_dither_response").main(
        ["--smoke", "--out", str(tmp_path), "--workers", "1"]
    )
    assert summary is None
    table = pd.read_csv(tmp_path / "l0_dither_response.csv")
    assert sorted(table.centre) == [6, 16]
    assert (table.noise >= 0).all() and table.s_n_dec.notna().all()
    assert (tmp_path / "l0_dither_response.json").is_file()


def test_the_finder_variants_study_records_every_variant_and_start(tmp_path):
    _study("l0_finder_variants").main(["--smoke", "--out", str(tmp_path), "--workers", "1"])
    table = pd.read_csv(tmp_path / "l0_finder_variants.csv")
    assert set(table.variant) == {"chosen", "sign_only", "slow_lr", "forked_arms"}
    assert len(table) == 4 * 2 * 2  # variants x models x starts
    assert (table.worst_distance >= 0).all() and table.settled_l0.gt(0).all()
    cycles = pd.read_csv(tmp_path / "l0_finder_variants_cycles.csv")
    assert set(cycles.variant) == set(table.variant)
