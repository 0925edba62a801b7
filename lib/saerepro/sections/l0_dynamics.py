"""Section "L0 dynamics" (Sparse but Wrong A.3-A.5): parameters and training jobs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from saerepro.core.checks import bounded, require
from saerepro.toy.jobs import ToyEvalJob, ToySAEJob, checkpoint_path
from saerepro.toy.model import ToyModelConfig
from saerepro.training.dithered_finder import DitheredFinderConfig, DitheredL0Finder
from saerepro.training.l0_control import AutoL0Finder, L0FinderConfig, LinearL0Schedule
from saerepro.training.trainer import TrainSettings

SECTION = "l0_dynamics"


@dataclass(frozen=True)
class L0DynamicsParams:
    """``params.yaml: l0_dynamics.<tier>``."""

    model: ToyModelConfig
    second_model: ToyModelConfig
    batch_size: int
    lr: float
    transition_starts: tuple[float, ...]
    transition_end: float
    transition_steps: int
    hold_steps: int
    transition_seed: int
    finder: L0FinderConfig
    finder_steps: int
    finder_seeds: tuple[int, ...]
    second_model_seeds: tuple[int, ...]
    settle_fraction: float
    tolerance: float
    recovery_threshold: float
    max_late_loss_drop: float = bounded(gt=0, lt=1)
    eval_samples: int
    eval_seed: int
    workers: int
    held_out_model: ToyModelConfig
    settling: DitheredFinderConfig
    settling_steps: int
    settling_lr: float = bounded(gt=0)
    settling_seeds: tuple[int, ...]
    settling_start_factors: tuple[float, ...] = bounded(gt=0)
    settling_tolerance: float = bounded(gt=0)

    def __post_init__(self) -> None:
        for name in ("model", "second_model"):
            model = getattr(self, name)
            n = self.finder.n_for(model.n_features)
            require(
                n > model.true_l0,
                "finder.n_fraction",
                f"a fraction of the SAE width that puts n above the true L0 of {name} "
                f"({model.true_l0:.2f}); it gives n = {n}",
                self.finder.n_fraction,
            )
            require(
                self.finder.start_l0 > model.true_l0,
                "finder.start_l0",
                f"above the true L0 of {name} ({model.true_l0:.2f}): the finder descends",
                self.finder.start_l0,
            )
        for start in self.transition_starts:
            require(
                0 < start <= self.model.n_features,
                "transition_starts",
                f"values in (0, {self.model.n_features}]",
                self.transition_starts,
            )
        require(
            0 < self.transition_end <= self.model.n_features,
            "transition_end",
            f"in (0, {self.model.n_features}]",
            self.transition_end,
        )
        for name in ("transition_steps", "finder_steps"):
            require(getattr(self, name) >= 1, name, "an integer >= 1", getattr(self, name))
        require(self.hold_steps >= 0, "hold_steps", "an integer >= 0", self.hold_steps)
        require(
            self.finder_steps > self.finder.warmup_steps + self.finder.eval_every,
            "finder_steps",
            "more than finder.warmup_steps + finder.eval_every",
            self.finder_steps,
        )
        require(
            self.settling_steps >= self.settling.warmup_steps + 2 * self.settling.cycle_steps,
            "settling_steps",
            f"at least settling.warmup_steps + two cycles ({2 * self.settling.cycle_steps} steps)",
            self.settling_steps,
        )
        factors = self.settling_start_factors
        require(
            min(factors) < 1 < max(factors),
            "settling_start_factors",
            "multiples of the true L0 with at least one below 1 and one above 1",
            factors,
        )
        for name, model in self.settling_models.items():
            highest = self.settling.max_l0(model.n_features) / model.true_l0
            require(
                max(factors) <= highest,
                "settling_start_factors",
                f"at most {highest:.3g} on the {name} model: the probe above the start must stay "
                "below settling.probe_cap x n",
                factors,
            )
        for name in ("transition_starts", "finder_seeds", "second_model_seeds", "settling_seeds"):
            value = getattr(self, name)
            require(len(value) >= 1, name, "a non-empty list", value)
        require(0 < self.settle_fraction <= 1, "settle_fraction", "in (0, 1]", self.settle_fraction)
        require(self.tolerance > 0, "tolerance", "> 0", self.tolerance)
        require(
            0 < self.recovery_threshold <= 1,
            "recovery_threshold",
            "in (0, 1]",
            self.recovery_threshold,
        )
        require(
            self.eval_samples >= self.batch_size,
            "eval_samples",
            f">= batch_size={self.batch_size}",
            self.eval_samples,
        )
        require(self.workers >= 1, "workers", "an integer >= 1", self.workers)

    @property
    def settling_models(self) -> dict[str, ToyModelConfig]:
        """The toy models the settling finder runs on; ``held_out`` was not used to choose its
        settings (though its seed 0 ran beside those trials)."""
        return {"paper": self.model, "second": self.second_model, "held_out": self.held_out_model}

    def settling_starts(self, model: ToyModelConfig) -> list[float]:
        """The settling finder's starts on ``model``: each start factor times its true L0,
        rounded to 0.1."""
        return [round(factor * model.true_l0, 1) for factor in self.settling_start_factors]

    def settling_jobs(self, root: str | Path) -> list[ToySAEJob]:
        """Ours: the settling finder on every toy model, start and seed."""
        settings = TrainSettings(
            total_samples=self.settling_steps * self.batch_size,
            batch_size=self.batch_size,
            lr=self.settling_lr,
        )
        jobs = []
        for name, model in self.settling_models.items():
            for start in self.settling_starts(model):
                for seed in self.settling_seeds:
                    jobs.append(
                        ToySAEJob(
                            model,
                            start,
                            model.n_features,
                            settings,
                            seed,
                            str(Path(root) / f"settling_{name}" / f"start{start:g}_seed{seed}"),
                            controller=DitheredL0Finder(self.settling, start),
                        )
                    )
        return jobs

    def eval_job(self, job: ToySAEJob) -> ToyEvalJob:
        """Evaluation of a trained job's SAE on held-out samples of its own toy model."""
        return ToyEvalJob(
            job.model,
            self.eval_samples,
            self.eval_seed,
            self.batch_size,
            (self.finder.n_for(job.d_sae),),
            checkpoint=job.checkpoint,
        )

    def _settings(self, steps: int) -> TrainSettings:
        return TrainSettings(
            total_samples=steps * self.batch_size, batch_size=self.batch_size, lr=self.lr
        )

    def transition_jobs(self, root: str | Path) -> list[ToySAEJob]:
        """Fig. 8: one SAE per starting L0, k moving linearly to ``transition_end``."""
        steps = self.transition_steps + self.hold_steps
        return [
            ToySAEJob(
                self.model,
                start,
                self.model.n_features,
                self._settings(steps),
                self.transition_seed,
                checkpoint_path(root, "transition", round(start), self.transition_seed),
                controller=LinearL0Schedule(start, self.transition_end, self.transition_steps),
            )
            for start in self.transition_starts
        ]

    def finder_jobs(self, root: str | Path) -> list[ToySAEJob]:
        """A.4: the finder on the paper's toy model (every seed) and on the second toy model."""
        runs = [("finder", self.model, s) for s in self.finder_seeds]
        runs += [("finder_second_model", self.second_model, s) for s in self.second_model_seeds]
        return [
            ToySAEJob(
                model,
                self.finder.start_l0,
                model.n_features,
                self._settings(self.finder_steps),
                seed,
                checkpoint_path(root, group, round(self.finder.start_l0), seed),
                controller=AutoL0Finder(self.finder),
            )
            for group, model, seed in runs
        ]
