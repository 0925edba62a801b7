"""The L0 of open-source SAEs, read offline from SAELens's pretrained-SAE directory (SBW A.5)."""

from __future__ import annotations

from dataclasses import dataclass

import sae_lens
from sae_lens.loading.pretrained_saes_directory import get_pretrained_saes_directory


@dataclass(frozen=True)
class PretrainedSAE:
    """One SAE listed by SAELens with both an L0 and a Neuronpedia id."""

    release: str
    model: str
    sae_id: str
    l0: float
    neuronpedia_id: str


def sae_lens_version() -> str:
    return str(sae_lens.__version__)


def listed_sae_l0s() -> list[PretrainedSAE]:
    """Every SAE in the installed SAELens directory that has an L0 (> 0) and a Neuronpedia id."""
    found = []
    for release, lookup in get_pretrained_saes_directory().items():
        for sae_id in lookup.saes_map:
            l0 = float(lookup.expected_l0.get(sae_id) or 0.0)
            neuronpedia_id = lookup.neuronpedia_id.get(sae_id)
            if l0 > 0 and neuronpedia_id:
                found.append(PretrainedSAE(release, lookup.model, sae_id, l0, neuronpedia_id))
    return found


def is_gemma2_2b_layer12_residual(sae: PretrainedSAE) -> bool:
    """The SAEs on the residual stream of Gemma-2-2b layer 12 (SBW's LLM setting)."""
    return (
        sae.model == "gemma-2-2b" and "-res" in sae.release and sae.sae_id.startswith("layer_12/")
    )
