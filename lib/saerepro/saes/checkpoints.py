"""The one way an SAE is saved, loaded and named.

An LLM SAE (and a meta-SAE) is saved as SAELens's inference model (decoder norms folded in; a
BatchTopK SAE becomes a JumpReLU SAE with one global threshold) and loaded back in eval mode
with :func:`load_sae`. An SAE trained on normalised activations is saved with the activation
scale folded into its weights, as SAELens's own runner does, so that plain
``sae_lens.SAE.load_from_disk`` gives an SAE for *raw* activations; its config's metadata
records the scale and where the activations came from (model, hook, context, BOS). Inside this
project :func:`load_sae` unfolds the scale again by default, since every section works on
normalised activations. A toy SAE is saved as its training SAE (:func:`save_training_sae`), so it
can be evaluated with batch-level selection. Writes are atomic: an interrupted save leaves
nothing a later stage would take for an SAE.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from sae_lens.saes.sae import SAE, TrainingSAE

from saerepro.core.atomic import atomic_directory
from saerepro.core.checks import require

CONFIG_FILE = "cfg.json"
SCALE_KEY = "activation_scale"  # metadata: the factor folded into the weights
INPUTS = ("normalised", "raw")


def sae_name(
    kind: str, d_sae: int, seed: int, *, k: int | None = None, l0: int | None = None
) -> str:
    """The name (and folder name) of an LLM SAE: ``<kind>_w<d_sae>_k<k>_s<seed>``, or with
    ``_l0<target>`` for a penalty-trained SAE named by its target L0."""
    if (k is None) == (l0 is None):
        raise ValueError("name an SAE by exactly one of k and l0")
    sparsity = f"k{k}" if k is not None else f"l0{l0}"
    return f"{kind}_w{d_sae}_{sparsity}_s{seed}"


def save_inference_sae(
    sae: TrainingSAE,
    path: str | Path,
    extra_files: Mapping[str, str] | None = None,
    *,
    activation_scale: float | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Save ``sae`` as its inference model (plus ``extra_files``: name -> text) atomically.

    ``activation_scale``: the factor the training inputs were multiplied by; it is folded into
    the weights (the saved SAE takes raw activations) and recorded in the metadata, with
    ``metadata`` (provenance: model, hook, context size, BOS, corpus)."""
    if activation_scale is not None:
        require(
            math.isfinite(activation_scale) and activation_scale > 0,
            "activation_scale",
            "a finite number > 0",
            activation_scale,
        )
    with atomic_directory(path) as tmp:
        sae.save_inference_model(tmp)
        if activation_scale is not None or metadata:
            inference = SAE.load_from_disk(tmp)
            if activation_scale is not None:
                _stop_rescaling_by_decoder_norm(inference)
                inference.fold_activation_norm_scaling_factor(activation_scale)
                inference.cfg.metadata[SCALE_KEY] = float(activation_scale)
            for key, value in (metadata or {}).items():
                inference.cfg.metadata[key] = value
            inference.save_model(tmp)
        for name, text in (extra_files or {}).items():
            (tmp / name).write_text(text)
    return Path(path)


def _stop_rescaling_by_decoder_norm(sae: SAE) -> None:
    """A TopK inference SAE that rescales its codes by the decoder row norms would, once the
    scale is folded into the decoder, give codes ``1 / scale`` times ours. Its rows are unit
    norm as saved, so the rescaling is a no-op before folding: switch it off."""
    if not getattr(sae.cfg, "rescale_acts_by_decoder_norm", False):
        return
    norms = sae.W_dec.detach().norm(dim=-1)
    if not torch.allclose(norms, torch.ones_like(norms), atol=1e-4):
        raise ValueError("a decoder-norm-rescaling SAE must be saved with unit-norm decoder rows")
    sae.cfg.rescale_acts_by_decoder_norm = False


def _require_checkpoint(path: str | Path) -> Path:
    path = Path(path)
    if not (path / CONFIG_FILE).is_file():
        raise FileNotFoundError(f"no SAE checkpoint at {str(path)!r} ({CONFIG_FILE} missing)")
    return path


def load_sae(checkpoint: str | Path, inputs: str = "normalised") -> SAE:
    """An SAE saved by :func:`save_inference_sae`, in eval mode, for ``normalised``
    activations (as every section feeds it: the folded scale is unfolded) or ``raw`` ones
    (as saved)."""
    require(inputs in INPUTS, "inputs", " or ".join(INPUTS), inputs)
    sae = SAE.load_from_disk(_require_checkpoint(checkpoint))
    scale = sae.cfg.metadata.get(SCALE_KEY)
    if inputs == "normalised" and scale is not None:
        sae.fold_activation_norm_scaling_factor(1.0 / scale)
    sae.eval()
    return sae


def save_training_sae(sae: TrainingSAE, path: str | Path) -> Path:
    """Save a training SAE (weights + config) atomically; load it with :func:`load_training_sae`."""
    with atomic_directory(path) as tmp:
        sae.save_model(tmp)
    return Path(path)


def load_training_sae(path: str | Path) -> TrainingSAE:
    """Load a training SAE saved by :func:`save_training_sae`."""
    return TrainingSAE.load_from_disk(_require_checkpoint(path))
