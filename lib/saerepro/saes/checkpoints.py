"""The one way an SAE is saved, loaded and named.

An LLM SAE (and a meta-SAE) is saved as SAELens's inference model (decoder norms folded in; a
BatchTopK SAE becomes a JumpReLU SAE with one global threshold) and loaded back in eval mode
with :func:`load_sae`. A toy SAE is saved as its training SAE (:func:`save_training_sae`), so it
can be evaluated with batch-level selection. Writes are atomic: an interrupted save leaves
nothing a later stage would take for an SAE.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from sae_lens.saes.sae import SAE, TrainingSAE

from saerepro.core.atomic import atomic_directory

CONFIG_FILE = "cfg.json"


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
    sae: TrainingSAE, path: str | Path, extra_files: Mapping[str, str] | None = None
) -> Path:
    """Save ``sae`` as its inference model (plus ``extra_files``: name -> text) atomically."""
    with atomic_directory(path) as tmp:
        sae.save_inference_model(tmp)
        for name, text in (extra_files or {}).items():
            (tmp / name).write_text(text)
    return Path(path)


def _require_checkpoint(path: str | Path) -> Path:
    path = Path(path)
    if not (path / CONFIG_FILE).is_file():
        raise FileNotFoundError(f"no SAE checkpoint at {str(path)!r} ({CONFIG_FILE} missing)")
    return path


def load_sae(checkpoint: str | Path) -> SAE:
    """An SAE saved by :func:`save_inference_sae`, in eval mode."""
    sae = SAE.load_from_disk(_require_checkpoint(checkpoint))
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
