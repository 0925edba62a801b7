"""Aligned training ("Bimodality of SAE Features ... Can Be Fixed" §5, Eq. 2-3, appendix C).

The encoder is not a free parameter. A trainable matrix ``A`` and the decoder define it
row by row (paper layout, encoder row i and decoder column i):

    W_enc,i = A_i + alpha_i W_dec,i,    alpha_i = (1 - A_i . W_dec,i) / ||W_dec,i||^2,

so the alignment score a_i = W_enc,i . W_dec,i is 1 for every latent, by construction. The
last input coordinate of ``A`` is frozen at 0 (every encoder row lies on an affine hyperplane,
so the model loses nothing): ``A`` is stored without it, as ``A`` of shape [d_in - 1, d_sae] in
SAELens's [d_in, d_sae] encoder layout. There is no decoder normalisation; the ReLU SAE's
penalty is SAELens's ``sum_i f_i ||W_dec,i||``, the paper's.

Two SAELens training architectures are registered: ``aligned_standard`` (ReLU with that L1
penalty) and ``aligned_topk`` (TopK, on the fast sparse step of :mod:`saerepro.saes.fast`). Both
save as SAELens's own inference SAEs (``standard`` and ``topk``), with the encoder written out,
so anything that loads an SAE loads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from sae_lens import StandardSAEConfig, StandardTrainingSAE, StandardTrainingSAEConfig
from sae_lens.registry import SAE_TRAINING_CLASS_REGISTRY, register_sae_training_class
from sae_lens.saes.sae import SAEConfig
from torch import nn

from saerepro.saes.fast import FastTopKTrainingSAE, FastTopKTrainingSAEConfig

FREE_PARAMETER = "A"


def aligned_encoder(free: torch.Tensor, W_dec: torch.Tensor) -> torch.Tensor:
    """Eq. 2: the encoder [d_in, d_sae] from ``A`` without its last input row, [d_in - 1, d_sae],
    and the decoder [d_sae, d_in]; every latent's encoder-decoder inner product is 1."""
    A = torch.cat([free, free.new_zeros(1, free.shape[1])])
    inner = (A.T * W_dec).sum(-1)
    alpha = (1 - inner) / W_dec.pow(2).sum(-1)
    return A + W_dec.T * alpha


class _AlignedEncoder:
    """Mixin: replaces a training SAE's ``W_enc`` parameter by ``A`` and computes ``W_enc``.

    ``self.W_enc`` keeps working everywhere SAELens and :mod:`saerepro.saes.fast` read it: it is
    recomputed from ``A`` and ``W_dec`` on every access, with gradients to both.
    """

    _parameters: dict[str, nn.Parameter]

    def initialize_weights(self) -> None:
        super().initialize_weights()  # type: ignore[misc]
        stock = self._parameters.pop("W_enc").data
        # SAELens starts W_enc at W_dec^T; A keeps that direction, alpha restores a_i = 1
        self.register_parameter(FREE_PARAMETER, nn.Parameter(stock[:-1].clone()))  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> Any:
        parameters = self.__dict__.get("_parameters", {})
        if name == "W_enc" and FREE_PARAMETER in parameters:
            return aligned_encoder(parameters[FREE_PARAMETER], parameters["W_dec"])
        return super().__getattr__(name)  # type: ignore[misc]

    def process_state_dict_for_saving_inference(self, state_dict: dict[str, Any]) -> None:
        """The inference SAE stores the encoder itself (as SAELens's stock architecture)."""
        state_dict["W_enc"] = self.W_enc.detach().clone()
        del state_dict[FREE_PARAMETER]
        super().process_state_dict_for_saving_inference(state_dict)  # type: ignore[misc]


@dataclass
class AlignedStandardTrainingSAEConfig(StandardTrainingSAEConfig):
    """A ReLU / L1 SAE trained with the aligned encoder; saved as a ``standard`` SAE."""

    @classmethod
    def architecture(cls) -> str:
        return "aligned_standard"

    def get_inference_config_class(self) -> type[SAEConfig]:
        return StandardSAEConfig


class AlignedStandardTrainingSAE(_AlignedEncoder, StandardTrainingSAE):
    """SAELens's ReLU training SAE with the encoder of Eq. 2."""

    cfg: AlignedStandardTrainingSAEConfig  # type: ignore[assignment]


@dataclass
class AlignedTopKTrainingSAEConfig(FastTopKTrainingSAEConfig):
    """A TopK SAE trained with the aligned encoder (fast sparse step); saved as a ``topk`` SAE."""

    @classmethod
    def architecture(cls) -> str:
        return "aligned_topk"


class AlignedTopKTrainingSAE(_AlignedEncoder, FastTopKTrainingSAE):
    """The fast TopK training SAE with the encoder of Eq. 2 (BIM §6)."""

    cfg: AlignedTopKTrainingSAEConfig  # type: ignore[assignment]


ALIGNED_ARCHITECTURES: dict[str, tuple[type[Any], type[Any]]] = {
    "aligned_standard": (AlignedStandardTrainingSAE, AlignedStandardTrainingSAEConfig),
    "aligned_topk": (AlignedTopKTrainingSAE, AlignedTopKTrainingSAEConfig),
}
"""Aligned architecture name -> (training SAE class, its config class)."""

UNALIGNED = {"aligned_standard": "standard", "aligned_topk": "fast_topk"}
"""The architecture each aligned one is compared with: the same loss with a free encoder."""


def register() -> None:
    """Register the aligned architectures with SAELens (idempotent)."""
    for name, (sae_class, cfg_class) in ALIGNED_ARCHITECTURES.items():
        if name not in SAE_TRAINING_CLASS_REGISTRY:
            register_sae_training_class(name, sae_class, cfg_class)


register()
