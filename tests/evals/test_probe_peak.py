"""The probing peak's bootstrap band on planted predictions."""

import numpy as np
import pandas as pd
import pytest
from saerepro.evals.probe_peak import bootstrap_mean_f1, peak_at_minima, peak_band


def _predictions(accuracy_by_k: dict[int, float], n_tasks: int = 3, m: int = 100) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = []
    for t in range(n_tasks):
        labels = np.arange(m) % 2
        for k, accuracy in accuracy_by_k.items():
            right = rng.random(m) < accuracy
            predicted = np.where(right, labels, 1 - labels)
            scores = np.where(predicted == 1, 1.0, -1.0)
            rows += [
                {"k": k, "task": f"t{t}", "example": i, "label": labels[i], "score": scores[i]}
                for i in range(m)
            ]
    return pd.DataFrame(rows)


def test_a_clear_peak_has_a_one_point_band():
    grid = [8, 16, 32, 64]
    predictions = _predictions({8: 0.6, 16: 0.7, 32: 1.0, 64: 0.7})
    full, boot = bootstrap_mean_f1(predictions, grid, resamples=200)
    assert full[2] == 1.0 and boot.shape == (200, 4)
    band = peak_band(predictions, grid, resamples=200)
    assert band.point == 2 and band.band == (2,) and band.best_share[2] == 1.0


def test_a_flat_curve_gives_a_wide_band():
    grid = [8, 16, 32, 64]
    band = peak_band(_predictions(dict.fromkeys(grid, 0.8)), grid, resamples=300)
    assert len(band.band) >= 3


def test_peak_verdicts_hold_fail_or_stay_inconclusive():
    assert peak_at_minima([5, 6], [6]) == (True, "")
    assert peak_at_minima([1, 2], [6]) == (False, "")
    verdict, why = peak_at_minima([2, 5, 6], [6])
    assert verdict is None and "both within and beyond" in why
    with pytest.raises(ValueError, match="non-empty"):
        peak_at_minima([], [3])
