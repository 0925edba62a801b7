"""Where each section reads and writes: the notebooks' folder parameters, by tier.

A section notebook declares its folders (``results_dir``, ``data_dir``, ...) as None and resolves
them here from its ``tier``: ``results/<section>`` and ``data/...`` at the cpu and paper tiers
(where DVC runs it), the same paths under ``build/smoke/`` at the smoke tier (what ``make
smoke`` and CI use). The stage registry (:mod:`saerepro.pipeline`) passes the same paths.
"""

from __future__ import annotations

from saerepro.core.checks import ParamError, require
from saerepro.core.params import TIERS

BACKBONE = "data/backbone"
FAMILY = "data/sae_family"
SMOKE_ROOT = "build/smoke"

SECTION_FOLDERS: dict[str, dict[str, str]] = {
    "backbone": {"data_dir": BACKBONE},
    "toy_l0": {"data_dir": "data/toy_l0"},
    "l0_dynamics": {"data_dir": "data/l0_dynamics"},
    "llm_l0_sweep": {"data_dir": "data/llm_l0_sweep", "backbone_dir": BACKBONE},
    "batchtopk": {"data_dir": "data/batchtopk", "family_dir": FAMILY, "backbone_dir": BACKBONE},
    "stitching": {"family_dir": FAMILY, "backbone_dir": BACKBONE},
    "meta_sae": {"data_dir": "data/meta_sae", "family_dir": FAMILY, "backbone_dir": BACKBONE},
    "bimodality": {
        "data_dir": "data/bimodality",
        "family_dir": FAMILY,
        "batchtopk_dir": "data/batchtopk",
        "backbone_dir": BACKBONE,
    },
}  # each section's data folders besides results/<section> (paths at the cpu and paper tiers)


def stage_folders(section: str) -> dict[str, str]:
    """The folder parameters of ``section``'s notebook and their paths at the cpu tier."""
    require(section in SECTION_FOLDERS, "section", f"one of {', '.join(SECTION_FOLDERS)}", section)
    return {"results_dir": f"results/{section}", **SECTION_FOLDERS[section]}


def at_tier(path: str, tier: str) -> str:
    """``path`` (a cpu-tier path) where ``tier`` keeps it."""
    return f"{SMOKE_ROOT}/{path}" if tier == "smoke" else path


def resolve_folders(section: str, tier: str, **given: str | None) -> tuple[str, ...]:
    """Each of ``given``'s folders, in order: its value where one was passed, else its path at
    ``tier``. ``given`` must name exactly the section's folder parameters."""
    require(tier in TIERS, "tier", f"one of {', '.join(TIERS)}", tier)
    defaults = stage_folders(section)
    if set(given) != set(defaults):
        raise ParamError(
            f"{section}: folders {sorted(given)} given, the section has {sorted(defaults)}"
        )
    return tuple(
        at_tier(defaults[name], tier) if path is None else path for name, path in given.items()
    )
