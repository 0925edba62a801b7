"""Where along an L0 grid sparse probing peaks, with its uncertainty: a paired bootstrap over
the test examples of every task, from the per-example predictions the probes saved.

Each resample draws, within every task, the test examples with replacement (the same draw for
every SAE of the grid, so the SAEs are compared on identical data), recomputes each SAE's mean
weighted F1 over tasks, and records which grid point is best. The *peak band* is every grid point
that is best in at least ``share`` of the resamples: a peak the data cannot place more narrowly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from saerepro.core.checks import require
from saerepro.evals.probe_fit import weighted_f1_along
from saerepro.reporting.verdicts import Verdict


@dataclass(frozen=True)
class PeakBand:
    """The best grid point, the band of points that could be best, and each point's share."""

    point: int  # grid index of the best mean F1 on the full test sets
    band: tuple[int, ...]  # grid indices best in at least `share` of the resamples
    best_share: tuple[float, ...]  # per grid index: share of resamples in which it is best


def bootstrap_mean_f1(
    predictions: pd.DataFrame, grid: Sequence[int], resamples: int = 1000, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Mean weighted F1 over tasks per grid point: on the full test sets ``[len(grid)]`` and per
    paired resample ``[resamples, len(grid)]``.

    ``predictions`` has one row per SAE and test example: ``k`` (the grid point), ``task``,
    ``example``, ``label`` and ``score`` (positive predicts label 1).
    """
    require(resamples >= 10, "resamples", "at least 10", resamples)
    require(
        {"k", "task", "example", "label", "score"} <= set(predictions.columns),
        "predictions",
        "columns k, task, example, label, score",
        list(predictions.columns),
    )
    rng = np.random.default_rng(seed)
    tasks = sorted(predictions.task.unique())
    full, boot = np.zeros(len(grid)), np.zeros((resamples, len(grid)))
    for task in tasks:
        rows = predictions[predictions.task == task]
        table = rows.pivot(index="example", columns="k", values="score")[list(grid)]
        labels = rows.drop_duplicates("example").set_index("example").label.loc[table.index]
        predicted = (table.to_numpy().T > 0).astype(int)  # [grid, m]
        truth = labels.to_numpy()
        full += weighted_f1_along(truth[None], predicted)
        draw = rng.integers(0, len(truth), size=(resamples, len(truth)))
        boot += weighted_f1_along(truth[draw][:, None], predicted[:, draw].transpose(1, 0, 2))
    return full / len(tasks), boot / len(tasks)


def peak_band(
    predictions: pd.DataFrame,
    grid: Sequence[int],
    resamples: int = 1000,
    share: float = 0.025,
    seed: int = 0,
) -> PeakBand:
    """The probing peak along ``grid`` and the band of grid points that could be the peak."""
    require(0 < share < 1, "share", "in (0, 1)", share)
    full, boot = bootstrap_mean_f1(predictions, grid, resamples, seed)
    best = np.bincount(boot.argmax(1), minlength=len(grid)) / resamples
    band = tuple(int(i) for i in np.flatnonzero(best >= share))
    return PeakBand(int(full.argmax()), band, tuple(float(b) for b in best))


def peak_at_minima(
    band: Sequence[int], minima: Sequence[int], steps: int = 1
) -> tuple[Verdict, str]:
    """Does the probing peak lie within ``steps`` grid steps of the s_n^dec minima?

    Holds when every point of the band does, fails when none does, and is inconclusive when the
    band reaches both near and far (the data cannot place the peak well enough).
    """
    require(len(band) >= 1 and len(minima) >= 1, "band, minima", "non-empty", (band, minima))
    near = [i for i in band if all(abs(i - m) <= steps for m in minima)]
    if len(near) == len(band):
        return True, ""
    if not near:
        return False, ""
    return None, (
        f"the probing peak band (grid indices {list(band)}) reaches both within and beyond "
        f"{steps} grid step(s) of the s_n^dec minima {list(minima)}"
    )
