"""The one training recipe of every LLM SAE (``params.yaml: recipe``).

A section that trains LLM SAEs states only where its recipe differs from the top-level one at the
same tier (:func:`saerepro.core.params.load_params` merges them).
"""

from __future__ import annotations

from dataclasses import dataclass

from saerepro.core.checks import bounded, require, validate_bounds
from saerepro.training.trainer import TrainSettings


@dataclass(frozen=True)
class TrainingRecipe:
    """How long and how fast an LLM SAE trains, and how it starts."""

    train_tokens: int = bounded(ge=1)
    batch_size: int = bounded(ge=1)
    lr: float = bounded(gt=0)
    lr_decay_fraction: float = bounded(ge=0, lt=1)  # last fraction of steps: linear decay to 0
    dead_feature_window: int = bounded(ge=1)  # steps without firing before a latent is dead
    centre_decoder_bias: bool  # the decoder bias starts at the first batch's mean

    def __post_init__(self) -> None:
        validate_bounds(self, "recipe")
        require(
            self.train_tokens >= self.batch_size,
            "recipe.train_tokens",
            f">= recipe.batch_size={self.batch_size} (at least one step)",
            self.train_tokens,
        )

    def summary(self) -> str:
        """One line for a notebook's setup table."""
        text = f"{self.train_tokens:,} tokens, batch {self.batch_size}, lr {self.lr:g}"
        return text + (", b_dec starts at the data mean" if self.centre_decoder_bias else "")

    def settings(self) -> TrainSettings:
        """The trainer settings this recipe stands for."""
        return TrainSettings(
            self.train_tokens,
            self.batch_size,
            lr=self.lr,
            lr_decay_fraction=self.lr_decay_fraction,
            dead_feature_window=self.dead_feature_window,
        )
