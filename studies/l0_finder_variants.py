"""Which settling L0 finder? The variants we tried on seed 0 of the two A.4 toy models.

    python studies/l0_finder_variants.py            # -> results/studies/l0_finder_variants*.csv
    python studies/l0_finder_variants.py --smoke    # tiny, seconds (kept runnable by a test)

Every variant starts once above (1.5x) and once below (0.7x) the true L0 of each model and trains
as long as notebook 02's settling runs. The variants:

* ``chosen``: notebook 02's settings (``params.yaml: l0_dynamics.settling``);
* ``sign_only``: the same, but L0 moves up whenever the working L0 is worse at all (min_effect 0);
* ``slow_lr``: the same, at the A.4 runs' learning rate 3e-4 (the SAE adapts to a new k ~3x
  slower than the phases allow);
* ``forked_arms``: no dither; every ``fork_steps`` steps two copies of the SAE (the control
  trajectory) train on the same batches at L0 and 1.15 L0, each with its own Adam, and L0 follows
  the sign of their s_n^dec difference at the end of the fork: drift and batch noise cancel
  exactly, but only the short-term response is compared.

The summary gives each run's mean working L0 over the last 20 % of training and its largest
distance from the true L0 there.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import pandas as pd
import torch
from sae_lens.saes.sae import TrainStepInput
from saerepro.core.atomic import atomic_write_csv
from saerepro.core.parallel import map_jobs
from saerepro.core.params import load_params
from saerepro.core.paths import repo_path
from saerepro.core.study_cli import study_arguments
from saerepro.evals.finder_settling import settling
from saerepro.metrics import nth_decoder_projection
from saerepro.sections.l0_dynamics import SECTION, L0DynamicsParams
from saerepro.toy.jobs import ToySAEJob, train_toy_sae
from saerepro.training.dithered_finder import DitheredFinderConfig, DitheredL0Finder
from saerepro.training.l0_control import set_k
from saerepro.training.trainer import TrainSettings


@dataclass
class ForkedArms:
    """A step hook: L0 follows the s_n^dec difference of two forked copies trained at L0 and
    (1 + dither) L0 on the same batches for ``fork_steps`` (the last quarter averaged)."""

    start_l0: float
    config: DitheredFinderConfig
    fork_steps: int
    lr: float
    history: list[dict[str, float]] = field(default_factory=list)
    _finder: DitheredL0Finder | None = None
    _arms: list = field(default_factory=list)
    _differences: list[float] = field(default_factory=list)

    def __call__(self, step: int, sae, batch: torch.Tensor) -> None:
        cfg = self.config
        if step == 0:
            self._finder = DitheredL0Finder(cfg, self.start_l0)
            self._finder.start(sae)
        if step < cfg.warmup_steps:
            return
        position = (step - cfg.warmup_steps) % self.fork_steps
        if position == 0:
            if self._arms:
                self._conclude(step, sae)
            self._arms = []
            for k in (self._finder.l0, self._finder.l0 * (1 + cfg.dither)):
                arm = copy.deepcopy(sae)
                set_k(arm, k)
                self._arms.append((arm, torch.optim.Adam(arm.parameters(), lr=self.lr)))
        for arm, optimiser in self._arms:
            output = arm.training_forward_pass(
                step_input=TrainStepInput(
                    sae_in=batch,
                    coefficients={},
                    dead_neuron_mask=None,
                    n_training_steps=step,
                    is_logging_step=False,
                )
            )
            output.loss.backward()
            torch.nn.utils.clip_grad_norm_(arm.parameters(), 1.0)
            optimiser.step()
            optimiser.zero_grad()
        if position >= self.fork_steps - self.fork_steps // 4:
            n = cfg.n_for(sae.cfg.d_sae)
            with torch.no_grad():
                low, high = (
                    nth_decoder_projection(batch, arm.W_dec, arm.b_dec, n) for arm, _ in self._arms
                )
            self._differences.append(low - high)

    def _conclude(self, step: int, sae) -> None:
        difference = sum(self._differences) / len(self._differences)
        self._differences.clear()
        ran = self._finder.l0
        set_k(sae, self._finder.update(difference > 0))
        self.history.append({"step": step, "l0": ran, "working_minus_probe": difference})


@dataclass(frozen=True)
class Study:
    steps: int
    fork_steps: int
    smoke: bool


FULL = Study(steps=16_000, fork_steps=200, smoke=False)
SMOKE = Study(steps=170, fork_steps=20, smoke=True)


def variants(chosen: DitheredFinderConfig, lr: float, study: Study) -> dict[str, tuple]:
    """name -> (hook factory taking a start L0, learning rate)."""
    return {
        "chosen": (lambda start: DitheredL0Finder(chosen, start), lr),
        "sign_only": (lambda start: DitheredL0Finder(replace(chosen, min_effect=0.0), start), lr),
        "slow_lr": (lambda start: DitheredL0Finder(chosen, start), 3e-4),
        "forked_arms": (lambda start: ForkedArms(start, chosen, study.fork_steps, lr), lr),
    }


def run(study: Study, out: str, workers: int) -> pd.DataFrame:
    params = load_params(SECTION, L0DynamicsParams, tier="smoke" if study.smoke else "cpu")
    models = {"paper": params.model, "second": params.second_model}
    keys, jobs = [], []
    for name, (factory, lr) in variants(params.settling, params.settling_lr, study).items():
        for model_name, model in models.items():
            for start in params.settling_starts(model):
                keys.append((name, model_name, start, model.true_l0))
                jobs.append(
                    ToySAEJob(
                        model,
                        start,
                        model.n_features,
                        TrainSettings(
                            total_samples=study.steps * params.batch_size,
                            batch_size=params.batch_size,
                            lr=lr,
                        ),
                        0,
                        str(
                            repo_path("build/studies/l0_finder_variants")
                            / f"{name}_{model_name}_{start:g}"
                        ),
                        controller=factory(start),
                    )
                )
    runs = map_jobs(train_toy_sae, jobs, workers, desc="finder variants")
    rows, cycles = [], []
    for (name, model_name, start, true_l0), r in zip(keys, runs, strict=True):
        history = pd.DataFrame(r.controller_history)
        outcome = settling(history, true_l0, study.steps, params.settle_fraction)
        rows.append(
            {
                "variant": name,
                "model": model_name,
                "true_l0": true_l0,
                "start_l0": start,
                "settled_l0": outcome.settled_l0,
                "worst_distance": outcome.worst_distance,
                "within_1": outcome.within(params.settling_tolerance),
            }
        )
        cycles += [
            {"variant": name, "model": model_name, "start_l0": start, **cycle}
            for cycle in r.controller_history
        ]
    summary = pd.DataFrame(rows)
    folder = repo_path(out)
    atomic_write_csv(folder / "l0_finder_variants.csv", summary)
    atomic_write_csv(folder / "l0_finder_variants_cycles.csv", pd.DataFrame(cycles))
    return summary


def main(argv: Sequence[str] | None = None) -> None:
    args = study_arguments(__doc__, argv)
    summary = run(SMOKE if args.smoke else FULL, args.out, args.workers)
    with pd.option_context("display.width", 120):
        print(summary.round(3).to_string(index=False))
    print(f"runs within ±1 of the true L0: {int(summary.within_1.sum())} of {len(summary)}")


if __name__ == "__main__":
    main()
