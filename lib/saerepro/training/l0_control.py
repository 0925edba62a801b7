"""Changing a BatchTopK SAE's L0 during training: a linear schedule (SBW A.3) and the automatic
L0 finder (SBW A.4). Both are step hooks for :func:`saerepro.training.trainer.train_sae`."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from sae_lens import BatchTopKTrainingSAE, TopKTrainingSAE
from sae_lens.saes.sae import TrainingSAE

from saerepro.core.checks import require
from saerepro.metrics import nth_decoder_projection


def set_k(sae: TrainingSAE, k: float) -> None:
    """Set a TopK or BatchTopK training SAE's k: a BatchTopK SAE takes a fractional k (the mean
    number of active latents per sample), a TopK SAE the nearest integer (at least 1)."""
    if not isinstance(sae, TopKTrainingSAE):
        raise TypeError(
            f"L0 control needs a TopK or BatchTopK training SAE, got {type(sae).__name__}"
        )
    require(0 < k <= sae.cfg.d_sae, "k", f"in (0, {sae.cfg.d_sae}] (d_sae)", k)
    if not isinstance(sae, BatchTopKTrainingSAE):
        k = max(1, round(k))
    sae.cfg.k = k
    sae.activation_fn.k = k


@dataclass(frozen=True)
class LinearL0Schedule:
    """k moves linearly from ``start`` to ``end`` over ``transition_steps``, then stays there."""

    start: float
    end: float
    transition_steps: int

    def __post_init__(self) -> None:
        require(self.start > 0, "start", "> 0", self.start)
        require(self.end > 0, "end", "> 0", self.end)
        require(
            self.transition_steps >= 1, "transition_steps", "an integer >= 1", self.transition_steps
        )

    def k_at(self, step: int) -> float:
        fraction = min(step / self.transition_steps, 1.0)
        return self.start + (self.end - self.start) * fraction

    def __call__(self, step: int, sae: TrainingSAE, batch: torch.Tensor) -> None:
        set_k(sae, self.k_at(step))


@dataclass(frozen=True)
class L0FinderConfig:
    """Hyperparameters of :class:`AutoL0Finder` (SBW A.4).

    Every ``eval_every`` steps the metric m is the mean of s_n^dec, with n = ``n_fraction`` of the
    SAE's width (rounded), over the last ``window`` training batches. With δ the L0 change made at
    the previous evaluation, the gradient estimate dm/dL0 = (m_t - m_{t-1}) / δ is clipped to
    [-1, 1], biased toward lower L0 as g + bias·|g|, and handed to Adam (default betas, learning
    rate ``lr``) on the L0 itself. The step Adam proposes is bounded in size to
    [min_delta, max_delta] (its sign kept; a zero step goes down) and L0 stays in [min_l0, d_sae].
    The very first move is ``-min_delta``: the procedure starts above the true L0 and must never
    jump below it. Nothing moves before ``warmup_steps``.

    The bias: SBW A.4 writes dm/dL0 - b·|dm/dL0| and says it is meant to push L0 lower. Adam
    descends (L0 <- L0 - lr·g), so subtracting b·|g| would push L0 up; we follow the stated intent
    and add it, which can never flip the sign of the estimate either.

    Arguments:
        start_l0: the initial L0, which should be above the expected true L0.
        n_fraction: which decoder projection to minimise, as a fraction of d_sae (SBW: n "up to
            about h/2" works; n should sit well above the true L0).
        lr: Adam's learning rate on L0 (about how far L0 moves per evaluation early on).
    """

    start_l0: float = 25.0
    n_fraction: float = 0.44
    lr: float = 0.5
    eval_every: int = 100
    window: int = 10
    bias: float = 0.1
    min_delta: float = 0.1
    max_delta: float = 2.0
    min_l0: float = 1.0
    warmup_steps: int = 0

    def __post_init__(self) -> None:
        require(self.start_l0 > 0, "start_l0", "> 0", self.start_l0)
        require(0 < self.n_fraction <= 1, "n_fraction", "in (0, 1]", self.n_fraction)
        require(self.lr > 0, "lr", "> 0", self.lr)
        require(self.eval_every >= 1, "eval_every", "an integer >= 1", self.eval_every)
        require(
            1 <= self.window <= self.eval_every,
            "window",
            f"an integer in 1..{self.eval_every} (eval_every)",
            self.window,
        )
        require(0 <= self.bias < 1, "bias", "in [0, 1)", self.bias)
        require(
            0 < self.min_delta <= self.max_delta,
            "min_delta",
            f"in (0, max_delta={self.max_delta}]",
            self.min_delta,
        )
        require(self.min_l0 > 0, "min_l0", "> 0", self.min_l0)
        require(self.warmup_steps >= 0, "warmup_steps", "an integer >= 0", self.warmup_steps)

    def n_for(self, d_sae: int) -> int:
        """The decoder projection index for an SAE of width ``d_sae``: n_fraction of it, >= 1."""
        return max(1, round(self.n_fraction * d_sae))


class AutoL0Finder:
    """Moves a BatchTopK SAE's L0 toward the minimum of s_n^dec while it trains (SBW A.4).

    A step hook for :func:`saerepro.training.trainer.train_sae`; ``history`` records
    (step, L0, m) at every
    evaluation. The rule is described in :class:`L0FinderConfig`.
    """

    def __init__(self, config: L0FinderConfig) -> None:
        self.config = config
        self.history: list[tuple[int, float, float]] = []
        self._l0 = torch.nn.Parameter(torch.tensor(float(config.start_l0), dtype=torch.float64))
        self._adam = torch.optim.Adam([self._l0], lr=config.lr)
        self._recent: list[float] = []
        self._previous: tuple[float, float] | None = None  # (m, δ) at the last evaluation

    @property
    def l0(self) -> float:
        return float(self._l0.detach())

    def __call__(self, step: int, sae: TrainingSAE, batch: torch.Tensor) -> None:
        cfg = self.config
        if step == 0:
            set_k(sae, self.l0)
        if step % cfg.eval_every >= cfg.eval_every - cfg.window:
            n = cfg.n_for(sae.cfg.d_sae)
            with torch.no_grad():
                self._recent.append(nth_decoder_projection(batch, sae.W_dec, sae.b_dec, n))
        if step % cfg.eval_every == cfg.eval_every - 1:
            metric = sum(self._recent) / len(self._recent)
            self._recent.clear()
            self.history.append((step, self.l0, metric))
            if step >= cfg.warmup_steps:
                set_k(sae, self.update(metric, sae.cfg.d_sae))

    def update(self, metric: float, d_sae: int) -> float:
        """One evaluation: estimate dm/dL0, take the bounded Adam step, return the new L0."""
        cfg, old = self.config, self.l0
        if self._previous is None:
            delta = -cfg.min_delta
        else:
            previous_metric, previous_delta = self._previous
            gradient = max(-1.0, min(1.0, (metric - previous_metric) / previous_delta))
            self._l0.grad = torch.tensor(gradient + cfg.bias * abs(gradient), dtype=torch.float64)
            self._adam.step()
            proposed = self.l0 - old
            size = min(max(abs(proposed), cfg.min_delta), cfg.max_delta)
            delta = size if proposed > 0 else -size
        new = min(max(old + delta, cfg.min_l0), float(d_sae))
        with torch.no_grad():
            self._l0.fill_(new)
        self._previous = (metric, new - old if new != old else delta)
        return new
