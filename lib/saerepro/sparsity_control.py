"""Tuning a sparsity penalty during training so a penalty-based SAE lands at a target L0.

JumpReLU (L0 penalty) and ReLU / L1 SAEs set their sparsity through a coefficient, not a k. To
compare them with TopK-style SAEs at equal L0 ("Canonical Units" §6), the coefficient is adapted
while the SAE trains: after each step the batch L0 (smoothed) is compared with the target and the
coefficient is multiplied by ``exp(rate * relative error)``, the error clipped to [-1, 1]. After
``freeze_step`` the coefficient stays fixed, so the final part of training runs at one tuned
penalty and the SAE settles under it. The achieved L0 is measured afterwards, never assumed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from saerepro.config import require

PENALTY_NAMES = {"jumprelu": "l0", "standard": "l1"}  # SAELens coefficient name per architecture


@dataclass
class SparsityController:
    """Adapts SAELens's coefficient ``name`` ("l0" or "l1") toward a target batch L0."""

    name: str
    target_l0: float
    initial: float
    freeze_step: int
    rate: float = 0.05
    smoothing: float = 0.9
    value: float = field(init=False)
    smoothed_l0: float | None = field(init=False, default=None)
    history: list[tuple[int, float, float]] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        names = sorted(PENALTY_NAMES.values())
        require(self.name in names, "name", f"one of {', '.join(names)}", self.name)
        require(self.target_l0 > 0, "target_l0", "> 0", self.target_l0)
        require(self.initial > 0, "initial", "> 0", self.initial)
        require(self.freeze_step >= 0, "freeze_step", "an integer >= 0", self.freeze_step)
        require(self.rate > 0, "rate", "> 0", self.rate)
        require(0 <= self.smoothing < 1, "smoothing", "in [0, 1)", self.smoothing)
        self.value = self.initial

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
            error = (self.smoothed_l0 - self.target_l0) / self.target_l0
            self.value *= math.exp(self.rate * max(-1.0, min(1.0, error)))
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
