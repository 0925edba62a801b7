"""Tuning a sparsity penalty during training so a penalty-based SAE lands at a target L0.

JumpReLU (L0 penalty) and ReLU / L1 SAEs set their sparsity through a coefficient, not a k. To
compare them with TopK-style SAEs at equal L0 ("Canonical Units" §6), the coefficient is adapted
while the SAE trains: after each step the batch L0 (smoothed) is compared with the target and the
coefficient follows a proportional-integral rule on the log ratio e = log(L0 / target), clipped
to [-1, 1]: log coefficient = I + gain * e, where I grows by ``rate * e`` every step. The
integral finds the coefficient that holds the target; the proportional term damps the
oscillation that the SAE's lag (the gates move about ``lr`` per step) otherwise causes. After
``freeze_step`` the coefficient stays at exp(I), so the final part of training runs at one tuned
penalty and the SAE settles under it. The achieved L0 is measured afterwards, never assumed.

A penalty moves L0 only as fast as the optimiser moves the gate (the JumpReLU threshold, the ReLU
encoder bias), which Adam limits to about ``lr`` per step. Over the paper's 1B tokens that is no
constraint; over our few thousand steps it is, so :class:`L0Calibration` first sets the gate of
every latent from the first batch so the SAE *starts* at the target L0, and the controller then
holds it there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from sae_lens.saes.sae import TrainingSAE

from saerepro.core.checks import require

PENALTY_NAMES = {"jumprelu": "l0", "standard": "l1", "aligned_standard": "l1"}
"""SAELens coefficient name per penalty-based architecture."""


@dataclass
class SparsityController:
    """Adapts SAELens's coefficient ``name`` ("l0" or "l1") toward a target batch L0."""

    name: str
    target_l0: float
    initial: float
    freeze_step: int
    rate: float = 0.05
    gain: float = 0.0
    smoothing: float = 0.9
    value: float = field(init=False)
    log_integral: float = field(init=False)
    smoothed_l0: float | None = field(init=False, default=None)
    history: list[tuple[int, float, float]] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        names = sorted(PENALTY_NAMES.values())
        require(self.name in names, "name", f"one of {', '.join(names)}", self.name)
        require(self.target_l0 > 0, "target_l0", "> 0", self.target_l0)
        require(self.initial > 0, "initial", "> 0", self.initial)
        require(self.freeze_step >= 0, "freeze_step", "an integer >= 0", self.freeze_step)
        require(self.rate > 0, "rate", "> 0", self.rate)
        require(self.gain >= 0, "gain", ">= 0", self.gain)
        require(0 <= self.smoothing < 1, "smoothing", "in [0, 1)", self.smoothing)
        self.value = self.initial
        self.log_integral = math.log(self.initial)

    def coefficients(self) -> dict[str, float]:
        """The coefficient for the coming step, as SAELens's trainer passes it to the SAE."""
        return {self.name: self.value}

    def observe(self, step: int, batch_l0: float) -> None:
        """Take the L0 of the step just trained; adapt the coefficient until ``freeze_step``."""
        if self.smoothed_l0 is None:
            self.smoothed_l0 = batch_l0
        else:
            self.smoothed_l0 = self.smoothing * self.smoothed_l0 + (1 - self.smoothing) * batch_l0
        if step < self.freeze_step:
            error = max(-1.0, min(1.0, math.log(max(self.smoothed_l0, 1e-3) / self.target_l0)))
            self.log_integral += self.rate * error
            self.value = math.exp(self.log_integral + self.gain * error)
        else:
            self.value = math.exp(self.log_integral)
        self.history.append((step, self.smoothed_l0, self.value))


def penalty_name(architecture: str) -> str:
    """The SAELens coefficient that sets an architecture's sparsity."""
    require(
        architecture in PENALTY_NAMES,
        "architecture",
        f"a penalty-based architecture: one of {', '.join(PENALTY_NAMES)}",
        architecture,
    )
    return PENALTY_NAMES[architecture]


@dataclass
class L0Calibration:
    """Step hook: before the first step, set each latent's gate so it fires on a fraction
    ``target_l0 / d_sae`` of the batch, i.e. the SAE starts at the target L0.

    The decoder bias must already be centred
    (:func:`saerepro.training.decoder_bias.centre_decoder_bias`, run
    before this hook): otherwise the first steps, spent learning the mean of the activations,
    shift every pre-activation and undo the gates. The gate is the JumpReLU threshold, or (ReLU)
    the encoder bias, shifted so the latent's pre-activation crosses zero at that quantile. Later
    steps are left to the optimiser.
    """

    target_l0: float

    def __post_init__(self) -> None:
        require(self.target_l0 > 0, "target_l0", "> 0", self.target_l0)

    @torch.no_grad()
    def __call__(self, step: int, sae: TrainingSAE, batch: torch.Tensor) -> None:
        if step != 0:
            return
        d_sae = sae.cfg.d_sae
        require(self.target_l0 < d_sae, "target_l0", f"< d_sae={d_sae}", self.target_l0)
        hidden_pre = sae.process_sae_in(batch.to(sae.dtype)) @ sae.W_enc + sae.b_enc
        gate = torch.quantile(hidden_pre.float(), 1 - self.target_l0 / d_sae, dim=0)
        if sae.cfg.architecture() == "jumprelu":
            sae.threshold.data = gate.clamp(min=0).to(sae.threshold.dtype)
        else:
            sae.b_enc.data -= gate.to(sae.b_enc.dtype)
