"""An L0 finder that settles: a drift-free dither on k with a sign-following search (ours, not
a paper's).

SBW A.4's finder (:class:`saerepro.training.l0_control.AutoL0Finder`) compares s_n^dec before and
after each L0 move; s_n^dec also falls with training time at a fixed L0, and the one-sided
difference credits that fall to the move, so the finder does not settle. This one compares two
L0s *at the same training time*. Each cycle trains one unmeasured phase of ``period`` steps at
the working L0 ``L`` (the SAE adapts to the last move), then four at ``L·(1+ρ)``, ``L``, ``L``,
``L·(1+ρ)`` (A-B-B-A), averaging s_n^dec over the last ``measure_fraction`` of each. A drift
linear in time cancels from

    D = (m_B1 + m_B2 - m_A1 - m_A2) / 2,

the amount by which the working L0's s_n^dec exceeds the probe's above it. L moves up when D
exceeds ``min_effect`` per-batch standard deviations of s_n^dec (the working L0 is clearly
worse: below the true L0, s_n^dec falls off a cliff as L0 rises), and down otherwise (like SBW's
bias, the default is the sparser side). The move is a step in log L whose size follows the sign
(Rprop): it grows by ``grow`` while the sign repeats and shrinks by ``shrink`` when it flips,
within [``min_step``, ``max_step``], so L brackets the change and homes in on it.

Why the probe sits above L and not around it: s_n^dec's valley is a cliff below the true L0
and a gentle slope above (notebook 01's sweep; ``results/studies/l0_dither_response.csv``). A
symmetric dither balances where its low side reaches the cliff, about ``1/(1-ρ)`` above the true
L0; with the probe above, the balance is where L itself reaches it. Why n bounds L0: when the
probe's k nears n, s_n^dec ranks active latents and no longer measures what it should, so L
stays below ``probe_cap · n / (1+ρ)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from sae_lens.saes.sae import TrainingSAE

from saerepro.core.checks import require
from saerepro.metrics import nth_decoder_projection
from saerepro.training.l0_control import set_k

PHASES = ("settle", "probe", "working", "working", "probe")
"""A cycle: one unmeasured phase at the new working L0 (the SAE adapts to the move), then A-B-B-A,
from which a drift linear in time cancels."""


@dataclass(frozen=True)
class DitheredFinderConfig:
    """Hyperparameters of :class:`DitheredL0Finder`.

    Arguments:
        n_fraction: which decoder projection to minimise, as a fraction of d_sae.
        dither: ρ, the probe's relative distance above the working L0.
        period: training steps per phase (five phases per cycle: settle, then A-B-B-A).
        measure_fraction: the last fraction of each phase whose s_n^dec is averaged (the first
            part lets the SAE adapt to the new k).
        step: the first move's size, in log L0.
        min_step, max_step: bounds on the move's size, in log L0.
        grow, shrink: factors on the move's size when its sign repeats / flips.
        warmup_steps: steps trained at the start L0 before the first cycle.
        min_l0: L0 never goes below this.
        min_effect: L0 moves up only if D exceeds this many per-batch standard deviations of
            s_n^dec (pooled over the four measured windows); otherwise it moves down.
        probe_cap: the probe's k stays at or below this fraction of n.
    """

    n_fraction: float = 0.5
    dither: float = 0.15
    period: int = 300
    measure_fraction: float = 0.5
    step: float = 0.15
    min_step: float = 0.02
    max_step: float = 0.3
    grow: float = 1.2
    shrink: float = 0.5
    warmup_steps: int = 2000
    min_l0: float = 1.0
    min_effect: float = 3.0
    probe_cap: float = 0.8

    def __post_init__(self) -> None:
        require(0 < self.n_fraction <= 1, "n_fraction", "in (0, 1]", self.n_fraction)
        require(0 < self.dither <= 1, "dither", "in (0, 1]", self.dither)
        require(self.period >= 4, "period", "an integer >= 4", self.period)
        require(
            0 < self.measure_fraction <= 1, "measure_fraction", "in (0, 1]", self.measure_fraction
        )
        require(
            0 < self.min_step <= self.max_step,
            "min_step",
            f"in (0, max_step={self.max_step}]",
            self.min_step,
        )
        require(
            self.min_step <= self.step <= self.max_step,
            "step",
            f"in [min_step={self.min_step}, max_step={self.max_step}]",
            self.step,
        )
        require(self.grow >= 1, "grow", ">= 1", self.grow)
        require(0 < self.shrink < 1, "shrink", "in (0, 1)", self.shrink)
        require(self.warmup_steps >= 0, "warmup_steps", "an integer >= 0", self.warmup_steps)
        require(self.min_l0 > 0, "min_l0", "> 0", self.min_l0)
        require(self.min_effect >= 0, "min_effect", ">= 0", self.min_effect)
        require(0 < self.probe_cap <= 1, "probe_cap", "in (0, 1]", self.probe_cap)

    @property
    def cycle_steps(self) -> int:
        return len(PHASES) * self.period

    def n_for(self, d_sae: int) -> int:
        """The decoder projection index for an SAE of width ``d_sae``: n_fraction of it, >= 1."""
        return max(1, round(self.n_fraction * d_sae))

    def max_l0(self, d_sae: int) -> float:
        """The highest working L0 for an SAE of width ``d_sae``: its probe stays at or below
        ``probe_cap`` of n, so s_n^dec measures latents beyond the active ones."""
        return self.probe_cap * self.n_for(d_sae) / (1 + self.dither)


@dataclass
class DitheredL0Finder:
    """A step hook for SAELens training (any TopK or BatchTopK training SAE) that moves its L0
    to where s_n^dec stops improving with more latents; the rule is in the module docstring.

    ``history`` holds one row per cycle: the step it ended, the working L0 it ran, D, the pooled
    per-batch standard deviation of s_n^dec, D in those units (``effect``), the cycle's mean
    s_n^dec and the working L0 chosen for the next cycle. ``l0`` is the working L0 now.
    """

    config: DitheredFinderConfig
    start_l0: float
    history: list[dict[str, float]] = field(default_factory=list)
    l0: float = field(init=False)
    _step_size: float = field(init=False)
    _last_sign: int = field(init=False, default=0)
    _highest: float = field(init=False, default=math.inf)
    _window: list[float] = field(init=False, default_factory=list)
    _phase_means: list[tuple[float, float]] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        require(
            self.start_l0 >= self.config.min_l0,
            "start_l0",
            f">= min_l0={self.config.min_l0}",
            self.start_l0,
        )
        self.l0 = self.start_l0
        self._step_size = self.config.step

    def k_for(self, phase: str) -> float:
        """The k a phase trains at: the probe's above the working L0, else the working L0."""
        return self.l0 * (1 + self.config.dither) if phase == "probe" else self.l0

    def __call__(self, step: int, sae: TrainingSAE, batch: torch.Tensor) -> None:
        cfg = self.config
        if step == 0:
            self.start(sae)
        if step < cfg.warmup_steps:
            return
        index, position = divmod(step - cfg.warmup_steps, cfg.period)
        phase = PHASES[index % len(PHASES)]
        if position == 0:
            set_k(sae, self.k_for(phase))
        if phase == "settle":
            return
        measured = max(2, round(cfg.period * cfg.measure_fraction))
        if position >= cfg.period - measured:
            with torch.no_grad():
                self._window.append(
                    nth_decoder_projection(batch, sae.W_dec, sae.b_dec, cfg.n_for(sae.cfg.d_sae))
                )
        if position == cfg.period - 1:
            values = torch.tensor(self._window, dtype=torch.float64)
            self._window.clear()
            self._phase_means.append((float(values.mean()), float(values.var())))
            if len(self._phase_means) == 4:
                self._end_cycle(step)
                set_k(sae, self.l0)  # training may end here: the SAE stops at the working L0

    def start(self, sae: TrainingSAE) -> None:
        """Before the first step: check that the start leaves room for the probe below n, and
        set the SAE's k to it."""
        cfg, d_sae = self.config, sae.cfg.d_sae
        highest = cfg.max_l0(d_sae)
        require(
            self.start_l0 <= highest,
            "start_l0",
            f"<= {highest:.4g}, so that its probe, (1 + dither) x start_l0, stays at or below "
            f"probe_cap x n = {cfg.probe_cap:g} x {cfg.n_for(d_sae)} "
            f"(n_fraction {cfg.n_fraction:g} of d_sae={d_sae})",
            self.start_l0,
        )
        self._highest = highest
        set_k(sae, self.l0)

    def _end_cycle(self, step: int) -> None:
        (a1, va1), (b1, vb1), (b2, vb2), (a2, va2) = self._phase_means
        self._phase_means.clear()
        difference = (b1 + b2 - a1 - a2) / 2
        spread = math.sqrt((va1 + vb1 + vb2 + va2) / 4)
        effect = difference / spread if spread > 0 else math.copysign(math.inf, difference)
        ran = self.l0
        self.update(effect > self.config.min_effect)
        self.history.append(
            {
                "step": step,
                "l0": ran,
                "working_minus_probe": difference,
                "batch_spread": spread,
                "effect": effect,
                "s_n_dec": (a1 + a2 + b1 + b2) / 4,
                "next_l0": self.l0,
            }
        )

    def update(self, working_is_worse: bool) -> float:
        """One cycle's move: up when the working L0 was significantly worse than the probe,
        else down, by the sign-adapted step; sets and returns the new working L0."""
        cfg = self.config
        sign = 1 if working_is_worse else -1
        if self._last_sign:
            factor = cfg.grow if sign == self._last_sign else cfg.shrink
            self._step_size = min(max(self._step_size * factor, cfg.min_step), cfg.max_step)
        self._last_sign = sign
        new = self.l0 * math.exp(sign * self._step_size)
        self.l0 = min(max(new, cfg.min_l0), self._highest)
        return self.l0
