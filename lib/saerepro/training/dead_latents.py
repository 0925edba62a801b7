"""A step hook that records how many latents are dead while an SAE trains: the share that has
not fired on any training batch of the last ``window`` steps, measured every ``every`` steps."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from sae_lens.saes.sae import TrainingSAE

from saerepro.core.checks import require


@dataclass
class DeadLatentProbe:
    """Call before each step (a :data:`saerepro.training.trainer.StepHook`); ``history`` holds
    ``(step, dead share, mean encoder row norm)``. A latent counts as dead at step ``t`` once it
    has not fired on the probed batches of steps ``t - window .. t`` (or ever, before the first
    ``window`` steps are over)."""

    window: int
    every: int = 10
    history: list[tuple[int, float, float]] = field(default_factory=list)
    _last_fired: torch.Tensor | None = None

    def __post_init__(self) -> None:
        require(self.window >= 1, "window", "an integer >= 1", self.window)
        require(self.every >= 1, "every", "an integer >= 1", self.every)

    @torch.no_grad()
    def __call__(self, step: int, sae: TrainingSAE, batch: torch.Tensor) -> None:
        if step % self.every:
            return
        if self._last_fired is None:
            self._last_fired = torch.full(
                (sae.cfg.d_sae,), -(10**9), dtype=torch.long, device=sae.W_dec.device
            )
        fired = (sae.encode(batch.to(sae.dtype)) > 0).any(0)
        self._last_fired[fired] = step
        dead = (step - self._last_fired > self.window).float().mean()
        encoder_norm = sae.W_enc.norm(dim=0).mean()
        self.history.append((step, float(dead), float(encoder_norm)))
