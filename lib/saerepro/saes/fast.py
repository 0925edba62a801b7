"""Fast TopK and BatchTopK training SAEs, registered in SAELens: ``fast_topk``, ``fast_batchtopk``.

They are SAELens training SAEs in every respect a user meets (configs, ``SAETrainer``, saving: a
fast BatchTopK saves as a JumpReLU SAE, a fast TopK as a TopK SAE, exactly as the stock classes
do). Only the training step differs: the same loss, computed through
:mod:`saerepro.saes.sparse_codes`:

- selection without sorting the batch (an exact threshold for BatchTopK, per-row top-k for TopK);
- the decoder, the auxiliary (dead-latent) loss and every gradient computed from the active
  (token, latent) pairs only, so a step costs one dense encoder matmul plus work in k, not width;
- ``feature_acts`` handed to the trainer as a sparse COO tensor, which SAETrainer accepts.

With ``rescale_acts_by_decoder_norm`` (SAELens's default) the stock step multiplies the
pre-activations by the decoder norms and divides them out again before decoding; the two factors
cancel in value and in gradient, so the fast step decodes the unscaled pre-activation directly and
uses the scaled one only to select. Hooks on ``hook_sae_acts_post`` do not fire during training.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from sae_lens import (
    BatchTopKTrainingSAE,
    BatchTopKTrainingSAEConfig,
    TopKSAEConfig,
    TopKTrainingSAE,
    TopKTrainingSAEConfig,
)
from sae_lens.registry import SAE_TRAINING_CLASS_REGISTRY, register_sae_training_class
from sae_lens.saes.sae import SAEConfig, TrainStepInput, TrainStepOutput
from torch import nn

from saerepro.saes.sparse_codes import (
    SparseCodes,
    batch_top,
    decode_from,
    encode_at,
    row_top,
    row_top_among,
)

SUPPORTED_NORMALISATIONS = ("none", "expected_average_only_in")
DENSE_FEATURE_ACTS_DENSITY = 1 / 32
"""Above this fraction of active latents the trainer gets dense activations (sparse ones sort)."""


class _FastStep:
    """The sparse training step shared by the fast TopK and BatchTopK SAEs (a mixin)."""

    cfg: TopKTrainingSAEConfig
    W_enc: nn.Parameter
    b_enc: nn.Parameter
    W_dec: nn.Parameter
    b_dec: nn.Parameter

    def _check_fast_config(self) -> None:
        if self.cfg.reshape_activations != "none":
            raise ValueError(
                "reshape_activations must be 'none' for a fast SAE, "
                f"got {self.cfg.reshape_activations!r}"
            )
        if self.cfg.normalize_activations not in SUPPORTED_NORMALISATIONS:
            raise ValueError(
                f"normalize_activations must be one of {SUPPORTED_NORMALISATIONS} for a fast SAE, "
                f"got {self.cfg.normalize_activations!r}"
            )

    def select(self, scores: torch.Tensor) -> SparseCodes:
        """The active latents of a batch, given its (decoder-norm scaled) pre-activations."""
        raise NotImplementedError

    def training_forward_pass(self, step_input: TrainStepInput) -> TrainStepOutput:
        centre = self.b_dec if self.cfg.apply_b_dec_to_input else None
        with torch.no_grad():
            centred = self.process_sae_in(step_input.sae_in)  # type: ignore[attr-defined]
            scale = self._latent_scale()
            scores = self._scores(centred, scale)
            codes = self.select(scores)
            active_scores = codes.gather(scores)
        # selected scores are positive, so ReLU is the identity on them
        sae_out = self._decode_active(codes, active_scores, scale, centred, centre) + self.b_dec
        sae_out = self.run_time_activation_norm_fn_out(self.hook_sae_recons(sae_out))  # type: ignore[attr-defined]

        mse_loss = self.mse_loss_fn(sae_out, step_input.sae_in).sum(dim=-1).mean()  # type: ignore[attr-defined]
        aux_loss = self._aux_loss(step_input, centred, centre, sae_out, scores, scale)
        return TrainStepOutput(
            sae_in=step_input.sae_in,
            sae_out=sae_out,
            feature_acts=self._feature_acts(codes, active_scores),
            hidden_pre=scores,
            loss=mse_loss + aux_loss,
            losses={"mse_loss": mse_loss, "auxiliary_reconstruction_loss": aux_loss},
        )

    @staticmethod
    def _feature_acts(codes: SparseCodes, active_scores: torch.Tensor) -> torch.Tensor:
        """Activations for the trainer's bookkeeping: sparse COO, or dense where that is cheaper."""
        if codes.density >= DENSE_FEATURE_ACTS_DENSITY:
            return codes.to_dense(active_scores)
        return codes.to_sparse(active_scores)

    def _latent_scale(self) -> torch.Tensor | None:
        """Decoder norms when pre-activations are rescaled by them (stock default), else None."""
        return self.W_dec.norm(dim=-1) if self.cfg.rescale_acts_by_decoder_norm else None

    def _scores(self, centred: torch.Tensor, scale: torch.Tensor | None) -> torch.Tensor:
        """Pre-activations as selection sees them: ``(x @ W_enc + b_enc) * scale``, scale folded
        into the weights so the batch-sized matrix is written once."""
        if scale is None:
            return (centred @ self.W_enc).add_(self.b_enc)
        return (centred @ (self.W_enc * scale)).add_(self.b_enc * scale)

    def _decode_active(
        self,
        codes: SparseCodes,
        active_scores: torch.Tensor,
        scale: torch.Tensor | None,
        centred: torch.Tensor,
        centre: torch.Tensor | None,
    ) -> torch.Tensor:
        """Decoder output (no bias) of the pre-activations at ``codes``, with sparse gradients.

        The decoder-norm scale used for selection is divided out: it cancels in the stock step.
        """
        values = active_scores if scale is None else active_scores / scale[codes.cols]
        pre = encode_at(centred, self.W_enc, self.b_enc, centre, values, codes)
        return decode_from(pre, self.W_dec, codes)

    def _aux_loss(
        self,
        step_input: TrainStepInput,
        centred: torch.Tensor,
        centre: torch.Tensor | None,
        sae_out: torch.Tensor,
        scores: torch.Tensor,
        scale: torch.Tensor | None,
    ) -> torch.Tensor:
        """SAELens's TopK auxiliary loss: the top dead latents reconstruct the residual."""
        dead = step_input.dead_neuron_mask
        n_dead = 0 if dead is None else int(dead.sum())
        if n_dead == 0:
            return sae_out.new_tensor(0.0)
        k_aux = self.cfg.d_in // 2
        weight = min(n_dead / k_aux, 1.0)
        codes = row_top_among(scores, min(k_aux, n_dead), torch.nonzero(dead).squeeze(1))
        recons = self._decode_active(codes, codes.gather(scores), scale, centred, centre)
        residual = (step_input.sae_in - sae_out).detach()
        auxk_loss = (recons - residual).pow(2).sum(dim=-1).mean()
        return self.cfg.aux_loss_coefficient * weight * auxk_loss


@dataclass
class FastTopKTrainingSAEConfig(TopKTrainingSAEConfig):
    """A TopK training SAE config whose training step runs on sparse codes."""

    @classmethod
    def architecture(cls) -> str:
        return "fast_topk"

    def get_inference_config_class(self) -> type[SAEConfig]:
        return TopKSAEConfig


class FastTopKTrainingSAE(_FastStep, TopKTrainingSAE):
    """SAELens's TopK training SAE with the sparse training step (saved as a TopK SAE)."""

    cfg: FastTopKTrainingSAEConfig  # type: ignore[assignment]

    def __init__(self, cfg: FastTopKTrainingSAEConfig, use_error_term: bool = False):
        super().__init__(cfg, use_error_term)
        self._check_fast_config()

    def select(self, scores: torch.Tensor) -> SparseCodes:
        return row_top(scores, int(self.cfg.k))


@dataclass
class FastBatchTopKTrainingSAEConfig(BatchTopKTrainingSAEConfig):
    """A BatchTopK training SAE config whose training step runs on sparse codes."""

    @classmethod
    def architecture(cls) -> str:
        return "fast_batchtopk"


class FastBatchTopKTrainingSAE(_FastStep, BatchTopKTrainingSAE):
    """SAELens's BatchTopK training SAE with the sparse training step (saved as a JumpReLU SAE).

    ``cfg.k`` is read at every step, so an L0 schedule may change it during training.
    """

    cfg: FastBatchTopKTrainingSAEConfig  # type: ignore[assignment]

    def __init__(self, cfg: FastBatchTopKTrainingSAEConfig, use_error_term: bool = False):
        super().__init__(cfg, use_error_term)
        self._check_fast_config()

    def select(self, scores: torch.Tensor) -> SparseCodes:
        return batch_top(scores, int(self.cfg.k * scores.shape[0]))

    def training_forward_pass(self, step_input: TrainStepInput) -> TrainStepOutput:
        output = _FastStep.training_forward_pass(self, step_input)
        acts = output.feature_acts
        self._update_threshold(acts.values() if acts.is_sparse else acts[acts > 0])
        output.metrics["topk_threshold"] = self.topk_threshold
        return output

    @torch.no_grad()
    def _update_threshold(self, active_values: torch.Tensor) -> None:
        """The stock EMA of the smallest positive activation (every selected value is positive)."""
        if active_values.numel():
            lr = self.cfg.topk_threshold_lr
            smallest = active_values.min().to(self.topk_threshold.dtype)
            self.topk_threshold = (1 - lr) * self.topk_threshold + lr * smallest


FAST_ARCHITECTURES: dict[str, tuple[type[Any], type[Any]]] = {
    "fast_topk": (FastTopKTrainingSAE, FastTopKTrainingSAEConfig),
    "fast_batchtopk": (FastBatchTopKTrainingSAE, FastBatchTopKTrainingSAEConfig),
}
"""Fast architecture name -> (training SAE class, its config class)."""

STOCK_EQUIVALENT = {"fast_topk": "topk", "fast_batchtopk": "batchtopk"}
"""The stock SAELens architecture each fast one computes the same loss as."""


def register() -> None:
    """Register the fast architectures with SAELens (idempotent)."""
    for name, (sae_class, cfg_class) in FAST_ARCHITECTURES.items():
        if name not in SAE_TRAINING_CLASS_REGISTRY:
            register_sae_training_class(name, sae_class, cfg_class)


register()
