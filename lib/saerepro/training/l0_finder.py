"""An L0 finder that settles: ours, not SBW's A.4 (that one is
:class:`saerepro.training.l0_control.AutoL0Finder`, kept exactly as the paper describes it).

Why A.4's finder does not settle: at a fixed L0, s_n^dec keeps falling as training goes on, and a
one-sided finite difference taken after each L0 move credits that fall to the move, so the
estimate points on downhill long after the minimum. This finder cancels the drift by design.

Around its estimate L it trains at L·(1 + ρ), L·(1 − ρ), L·(1 − ρ), L·(1 + ρ), one ``period``
each (an A-B-B-A dither), and measures s_n^dec over the last ``window`` steps of each period,
once the decoder has had time to answer the change. A drift linear in training time adds the
same amount to (m₁ − m₂) and (m₄ − m₃) with opposite signs, so their sum is the slope of s_n^dec
against L0 alone. L then moves in log space against the sign of that slope, with an Rprop step
(grown while the sign holds, halved when it flips, kept in [min_step, max_step]): far from the
minimum it travels fast, around it the step shrinks and L stays put.

Use it as a step hook of any TopK or BatchTopK training SAE (a TopK SAE takes the nearest
integer k)::

    from saerepro.training.l0_finder import SettlingL0Finder, SettlingL0FinderConfig
    from saerepro.training.trainer import make_training_sae, train_sae

    finder = SettlingL0Finder(SettlingL0FinderConfig(start_l0=40))
    sae = make_training_sae("fast_batchtopk", seed=0, d_in=640, d_sae=4096, k=40)
    train_sae(sae, batches, settings, hooks=[finder])
    finder.l0, finder.history  # where it settled, and every cycle's estimate
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from sae_lens.saes.sae import TrainingSAE

from saerepro.core.checks import bounded, require, validate_bounds
from saerepro.metrics import nth_decoder_projection
from saerepro.training.l0_control import set_k

DITHER = (1, -1, -1, 1)  # the A-B-B-A order of one cycle: a linear drift cancels


@dataclass(frozen=True)
class SettlingL0FinderConfig:
    """Hyperparameters of :class:`SettlingL0Finder`.

    Arguments:
        start_l0: where the search starts (above or below the right L0).
        n_fraction: s_n^dec's n as a fraction of d_sae (SBW: well above the right L0, at most
            about half the width).
        period: training steps at each side of the dither; a cycle is four periods.
        window: the last steps of a period over which s_n^dec is averaged.
        dither: ρ, the relative size of the dither (k = L·(1 ± ρ)).
        initial_step, min_step, max_step: the Rprop step on log L.
        grow, shrink: the factors the step is multiplied by when the slope's sign holds / flips.
        warmup_steps: steps trained at ``start_l0`` before the search begins.
        min_l0: the lowest L the search may reach.
    """

    start_l0: float = bounded(gt=0)
    n_fraction: float = bounded(gt=0, le=1, default=0.44)
    period: int = bounded(ge=2, default=200)
    window: int = bounded(ge=1, default=50)
    dither: float = bounded(gt=0, lt=1, default=0.15)
    initial_step: float = bounded(gt=0, default=0.2)
    min_step: float = bounded(gt=0, default=0.01)
    max_step: float = bounded(gt=0, default=0.5)
    grow: float = bounded(ge=1, default=1.2)
    shrink: float = bounded(gt=0, lt=1, default=0.5)
    warmup_steps: int = bounded(ge=0, default=0)
    min_l0: float = bounded(gt=0, default=1.0)

    def __post_init__(self) -> None:
        validate_bounds(self)
        require(
            self.window < self.period,
            "window",
            f"fewer steps than period={self.period}",
            self.window,
        )
        require(
            self.min_step <= self.initial_step <= self.max_step,
            "initial_step",
            f"in [min_step={self.min_step}, max_step={self.max_step}]",
            self.initial_step,
        )

    @property
    def cycle_steps(self) -> int:
        return len(DITHER) * self.period

    def n_for(self, d_sae: int) -> int:
        """s_n^dec's n for an SAE of width ``d_sae``."""
        return max(1, round(self.n_fraction * d_sae))


@dataclass(frozen=True)
class FinderCycle:
    """One dither cycle: where it was centred, the drift-free slope it measured, the step."""

    step: int  # the training step the cycle ended at
    l0: float  # the centre L the cycle was measured around
    slope: float  # (m1 - m2 + m4 - m3) / (4 rho L): d s_n^dec / d L0
    step_size: float  # the log-step taken after it
    next_l0: float


class SettlingL0Finder:
    """Moves a TopK or BatchTopK SAE's L0 to the minimum of s_n^dec while it trains, with a
    drift-cancelling dither (module docstring). ``l0`` is the current estimate; ``history``
    holds a :class:`FinderCycle` per cycle."""

    def __init__(self, config: SettlingL0FinderConfig) -> None:
        self.config = config
        self.history: list[FinderCycle] = []
        self._log_l0 = math.log(config.start_l0)
        self._step_size = config.initial_step
        self._last_sign = 0
        self._samples: list[float] = []
        self._period_means: list[float] = []

    @property
    def l0(self) -> float:
        return math.exp(self._log_l0)

    def __call__(self, step: int, sae: TrainingSAE, batch: torch.Tensor) -> None:
        cfg = self.config
        if step < cfg.warmup_steps:
            if step == 0:
                set_k(sae, self._bounded(self.l0, sae.cfg.d_sae))
            return
        offset = step - cfg.warmup_steps
        period, position = divmod(offset, cfg.period)
        if position == 0:
            side = DITHER[period % len(DITHER)]
            set_k(sae, self._bounded(self.l0 * (1 + side * cfg.dither), sae.cfg.d_sae))
        if position >= cfg.period - cfg.window:
            with torch.no_grad():
                n = cfg.n_for(sae.cfg.d_sae)
                self._samples.append(nth_decoder_projection(batch, sae.W_dec, sae.b_dec, n))
        if position == cfg.period - 1:
            self._period_means.append(sum(self._samples) / len(self._samples))
            self._samples.clear()
            if len(self._period_means) == len(DITHER):
                self._update(step, sae.cfg.d_sae)

    def _bounded(self, k: float, d_sae: int) -> float:
        return min(max(k, self.config.min_l0 * (1 - self.config.dither)), float(d_sae))

    def _update(self, step: int, d_sae: int) -> None:
        cfg = self.config
        m1, m2, m3, m4 = self._period_means
        self._period_means.clear()
        slope = (m1 - m2 + m4 - m3) / (4 * cfg.dither * self.l0)
        sign = (slope > 0) - (slope < 0)
        if self._last_sign and sign and sign != self._last_sign:
            self._step_size = max(self._step_size * cfg.shrink, cfg.min_step)
        elif self._last_sign and sign == self._last_sign:
            self._step_size = min(self._step_size * cfg.grow, cfg.max_step)
        centre = self.l0
        top = math.log(d_sae / (1 + cfg.dither))
        self._log_l0 = min(max(self._log_l0 - sign * self._step_size, math.log(cfg.min_l0)), top)
        self._last_sign = sign or self._last_sign
        self.history.append(FinderCycle(step, centre, slope, self._step_size, self.l0))
