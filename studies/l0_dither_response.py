"""Can a drift-free dither tell an L0 finder which way to go? Measured on the toy model.

    python studies/l0_dither_response.py            # 50-feature toy model -> results/studies/...
    python studies/l0_dither_response.py --smoke    # tiny, seconds (kept runnable by a test)

SBW's A.4 finder does not settle (notebook 02): at a fixed L0, s_n^dec keeps falling with training
time, and its one-sided finite difference credits that fall to the last L0 move. The natural fix
is a dither that cancels the drift: around a centre L, train at L·(1 + ρ), L·(1 − ρ), L·(1 − ρ),
L·(1 + ρ), one period each (A-B-B-A), and average s_n^dec over the last quarter of each period; a
drift linear in training time then cancels from D = (m₂ + m₃ − m₁ − m₄) / 2, the drift-free
amount by which the low side's s_n^dec exceeds the high side's. A finder following the slope of
s_n^dec would move up where D > 0 and down where D < 0, so it can only settle at the true L0 if D
changes sign there.

This study holds the centre fixed at L0s around the true one (10.95) and records D, its noise
(the standard errors of the four window means) and s_n^dec itself, for two dither periods.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd
import torch
from saerepro.core.atomic import atomic_write_csv, atomic_write_text
from saerepro.core.parallel import map_jobs
from saerepro.core.paths import repo_path
from saerepro.core.study_cli import study_arguments
from saerepro.metrics import nth_decoder_projection
from saerepro.toy.jobs import ToySAEJob, train_toy_sae
from saerepro.toy.model import ToyModelConfig
from saerepro.training.l0_control import set_k
from saerepro.training.trainer import TrainSettings

DITHER = (1, -1, -1, 1)  # A-B-B-A: a drift linear in training time cancels


@dataclass
class DitherProbe:
    """A step hook that dithers a BatchTopK SAE's k around a fixed ``centre`` (A-B-B-A, one
    ``period`` each, relative size ``dither``) and records s_n^dec over the last quarter of each
    period; ``history`` holds, per cycle, the four window means and their standard errors."""

    centre: float
    dither: float
    period: int
    n: int
    warmup_steps: int
    history: list[dict[str, float]] = field(default_factory=list)
    _samples: list[float] = field(default_factory=list)
    _means: list[tuple[float, float]] = field(default_factory=list)

    def __call__(self, step: int, sae, batch: torch.Tensor) -> None:
        if step < self.warmup_steps:
            if step == 0:
                set_k(sae, self.centre)
            return
        index, position = divmod(step - self.warmup_steps, self.period)
        if position == 0:
            set_k(sae, self.centre * (1 + DITHER[index % 4] * self.dither))
        if position >= self.period - self.period // 4:
            with torch.no_grad():
                self._samples.append(nth_decoder_projection(batch, sae.W_dec, sae.b_dec, self.n))
        if position == self.period - 1:
            values = torch.tensor(self._samples, dtype=torch.float64)
            self._means.append((float(values.mean()), float(values.std() / len(values) ** 0.5)))
            self._samples.clear()
            if len(self._means) == 4:
                (m1, e1), (m2, e2), (m3, e3), (m4, e4) = self._means
                self._means.clear()
                self.history.append(
                    {
                        "step": step,
                        "s_n_dec": (m1 + m2 + m3 + m4) / 4,
                        "low_minus_high": (m2 + m3 - m1 - m4) / 2,
                        "noise": (e1**2 + e2**2 + e3**2 + e4**2) ** 0.5 / 2,
                    }
                )


@dataclass(frozen=True)
class Settings:
    centres: tuple[float, ...]
    periods: tuple[int, ...]
    steps: int
    warmup_steps: int
    dither: float
    batch_size: int = 1024
    lr: float = 3e-4
    n_fraction: float = 0.44  # n = 22 of 50, as the A.4 replication's


FULL = Settings((6, 9, 11, 13, 16, 20, 25), (200, 1000), 10_000, 2_000, 0.15)
SMOKE = Settings((6, 16), (20,), 200, 40, 0.15, batch_size=256)


def run(settings: Settings, out: str, workers: int) -> pd.DataFrame:
    """Train one SAE per (period, centre) with its probe; write the cycles and a summary."""
    model = ToyModelConfig()  # the paper's 50-feature toy model (true L0 10.95)
    train = TrainSettings(
        total_samples=settings.steps * settings.batch_size,
        batch_size=settings.batch_size,
        lr=settings.lr,
    )
    keys = [(p, c) for p in settings.periods for c in settings.centres]
    n = max(1, round(settings.n_fraction * model.n_features))
    jobs = [
        ToySAEJob(
            model,
            centre,
            model.n_features,
            train,
            0,
            str(repo_path("build/studies/l0_dither_response") / f"p{period}_c{centre}"),
            controller=DitherProbe(centre, settings.dither, period, n, settings.warmup_steps),
        )
        for period, centre in keys
    ]
    runs = map_jobs(train_toy_sae, jobs, workers, desc="dithered SAEs")
    rows = [
        {"period": period, "centre": centre, **cycle}
        for (period, centre), r in zip(keys, runs, strict=True)
        for cycle in r.controller_history
    ]
    cycles = pd.DataFrame(rows)
    late = cycles.groupby(["period", "centre"]).tail(2)  # each run's last two cycles
    summary = late.groupby(["period", "centre"]).mean(numeric_only=True).reset_index()
    summary["low_side_worse"] = summary.low_minus_high > 3 * summary.noise
    folder = repo_path(out)
    atomic_write_csv(folder / "l0_dither_response_cycles.csv", cycles)
    atomic_write_csv(folder / "l0_dither_response.csv", summary)
    record = {
        "true_l0": model.true_l0,
        "settings": settings.__dict__,
        "centres_where_the_low_side_is_worse": {
            str(p): [float(c) for c in g.centre[g.low_side_worse]]
            for p, g in summary.groupby("period")
        },
    }
    atomic_write_text(folder / "l0_dither_response.json", json.dumps(record, indent=2) + "\n")
    return summary


def main(argv: Sequence[str] | None = None) -> None:
    args = study_arguments(__doc__, argv)
    summary = run(SMOKE if args.smoke else FULL, args.out, args.workers)
    print(summary.to_string(index=False))


if __name__ == "__main__":
    main()
