"""One training entry point for every SAE architecture: a thin wrapper over SAELens's SAETrainer.

The wrapper seeds the SAE's initialisation, turns wandb off, records the loss curve, and lets
step hooks change the SAE during training (an L0 schedule, say). The data is any iterator of
activation batches.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from sae_lens import SAETrainer
from sae_lens.config import LoggingConfig, SAETrainerConfig
from sae_lens.registry import SAE_TRAINING_CLASS_REGISTRY
from sae_lens.saes.sae import TrainingSAE, TrainStepOutput
from sae_lens.training import sae_trainer as sae_trainer_module

from saerepro.core.checks import require
from saerepro.saes import fast as fast_sae  # noqa: F401  (importing it registers the fast architectures)

StepHook = Callable[[int, TrainingSAE, torch.Tensor], None]
"""Called before every training step with the step index (0-based), the SAE and the step's batch."""


class CoefficientController(Protocol):
    """Sets SAELens's loss coefficients (e.g. ``{"l1": 0.3}``) step by step from the batch L0."""

    def coefficients(self) -> dict[str, float]: ...

    def observe(self, step: int, batch_l0: float) -> None: ...


@dataclass(frozen=True)
class TrainSettings:
    """How long and how fast to train; the SAE's own shape lives in its SAELens config."""

    total_samples: int
    batch_size: int
    lr: float = 3e-4
    lr_end: float | None = None  # None: constant learning rate
    record_every: int = 10
    dead_feature_window: int = 1000
    lr_decay_fraction: float = 0.0  # the last fraction of steps decays the lr linearly to 0

    def __post_init__(self) -> None:
        require(self.batch_size >= 1, "batch_size", "an integer >= 1", self.batch_size)
        require(
            self.total_samples >= self.batch_size,
            "total_samples",
            f">= batch_size={self.batch_size} (at least one step)",
            self.total_samples,
        )
        require(self.lr > 0, "lr", "> 0", self.lr)
        require(self.record_every >= 1, "record_every", "an integer >= 1", self.record_every)
        require(
            0 <= self.lr_decay_fraction < 1,
            "lr_decay_fraction",
            "in [0, 1)",
            self.lr_decay_fraction,
        )

    @property
    def steps(self) -> int:
        return self.total_samples // self.batch_size

    @property
    def lr_decay_steps(self) -> int:
        return round(self.steps * self.lr_decay_fraction)


@dataclass
class TrainResult:
    """The trained SAE, its curves (every ``record_every`` steps: MSE, the batch's mean L0 and
    the learning rate) and wall time."""

    sae: TrainingSAE
    loss_steps: list[int] = field(default_factory=list)
    mse_losses: list[float] = field(default_factory=list)
    l0s: list[float] = field(default_factory=list)
    lrs: list[float] = field(default_factory=list)
    seconds: float = 0.0


class _RecordingTrainer(SAETrainer):
    """SAETrainer that runs step hooks and records the MSE loss through its public ``step`` seam."""

    def __init__(
        self,
        *args: Any,
        result: TrainResult,
        record_every: int,
        hooks: Sequence[StepHook],
        controller: CoefficientController | None = None,
        **kwargs: Any,
    ) -> None:
        self._controller = controller
        super().__init__(*args, **kwargs)
        self._result, self._record_every, self._hooks = result, record_every, hooks

    def get_coefficients(self) -> dict[str, float]:
        coefficients = super().get_coefficients()
        if self._controller is not None:
            coefficients.update(self._controller.coefficients())
        return coefficients

    def step(self, batch: torch.Tensor) -> TrainStepOutput:
        step = self.n_training_steps
        batch = batch.to(self.sae.device)  # as SAETrainer.step would: hooks see the SAE's device
        for hook in self._hooks:
            hook(step, self.sae, batch)
        lr = self.optimizer.param_groups[0]["lr"]  # the rate this step uses
        output = super().step(batch)
        recording = step % self._record_every == 0
        if recording or self._controller is not None:
            l0 = batch_l0(output.feature_acts)
            if self._controller is not None:
                self._controller.observe(step, l0)
            if recording:
                self._result.lrs.append(lr)
                self._result.loss_steps.append(step)
                self._result.mse_losses.append(output.losses["mse_loss"].item())
                self._result.l0s.append(l0)
        return output


def batch_l0(feature_acts: torch.Tensor) -> float:
    """Mean number of non-zero latents per sample; ``feature_acts`` may be dense or sparse COO."""
    if feature_acts.is_sparse:
        return (feature_acts.values() != 0).sum().item() / feature_acts.shape[0]
    return (feature_acts != 0).sum(-1).float().mean().item()


@contextlib.contextmanager
def _trainer_bar(enabled: bool) -> Iterator[None]:
    """Hide SAETrainer's progress bar for the duration (tqdm reads its env vars only at import)."""
    original = sae_trainer_module.tqdm
    if not enabled:
        sae_trainer_module.tqdm = functools.partial(original, disable=True)
    try:
        yield
    finally:
        sae_trainer_module.tqdm = original


def architectures() -> list[str]:
    """Architectures SAELens can train (built in plus registered by this library)."""
    return sorted(SAE_TRAINING_CLASS_REGISTRY)


def make_training_sae(architecture: str, seed: int, **cfg: Any) -> TrainingSAE:
    """A freshly initialised SAELens training SAE; ``seed`` fixes its initial weights."""
    require(
        architecture in SAE_TRAINING_CLASS_REGISTRY,
        "architecture",
        f"one of {', '.join(architectures())}",
        architecture,
    )
    sae_class, cfg_class = SAE_TRAINING_CLASS_REGISTRY[architecture]
    torch.manual_seed(seed)
    return sae_class(cfg_class(**cfg))


def train_sae(
    sae: TrainingSAE,
    data: Iterator[torch.Tensor],
    settings: TrainSettings,
    hooks: Sequence[StepHook] = (),
    progress: bool = True,
    controller: CoefficientController | None = None,
) -> TrainResult:
    """Train ``sae`` in place with SAETrainer on batches from ``data``.

    ``progress=False`` hides SAETrainer's own bar (for many short jobs under one outer bar).
    A ``controller`` overrides loss coefficients each step (a sparsity penalty tuned toward an L0).
    """
    trainer_cfg = SAETrainerConfig(
        total_training_samples=settings.steps * settings.batch_size,
        train_batch_size_samples=settings.batch_size,
        lr=settings.lr,
        lr_end=settings.lr if settings.lr_end is None else settings.lr_end,
        dead_feature_window=settings.dead_feature_window,
        lr_decay_steps=settings.lr_decay_steps,
        logger=LoggingConfig(log_to_wandb=False),
    )
    result = TrainResult(sae=sae)
    trainer = _RecordingTrainer(
        cfg=trainer_cfg,
        sae=sae,
        data_provider=data,
        result=result,
        record_every=settings.record_every,
        hooks=hooks,
        controller=controller,
    )
    start = time.perf_counter()
    with _trainer_bar(progress):
        trainer.fit()
    result.seconds = time.perf_counter() - start
    return result
