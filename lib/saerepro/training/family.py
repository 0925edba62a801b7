"""The SAE family: BatchTopK SAEs of doubling width (plus a second seed) on one activation cache.

Stitching, meta-SAEs and the bimodality section reuse it, so it is a named artefact
(``data/sae_family`` under DVC) with a small index, ``family.json``:
one entry per SAE (name, width, k, seed, folder relative to the family root), plus what they were
trained on. :func:`load_family` reads the index; :meth:`SAEFamily.load` loads one SAE.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sae_lens.saes.sae import SAE

from saerepro.core.atomic import atomic_write_json
from saerepro.core.checks import require
from saerepro.core.paths import repo_path
from saerepro.saes.checkpoints import load_sae, sae_name

INDEX_FILE = "family.json"


@dataclass(frozen=True)
class FamilyMember:
    """One SAE of the family; ``folder`` is relative to the family root."""

    name: str
    d_sae: int
    k: int
    seed: int
    folder: str


def member_name(d_sae: int, k: int, seed: int) -> str:
    """A family member's name: the one naming scheme of LLM SAEs."""
    return sae_name("batchtopk", d_sae, seed, k=k)


@dataclass(frozen=True)
class SAEFamily:
    """The index of a family folder, and loading of its SAEs."""

    root: Path
    members: tuple[FamilyMember, ...]
    trained_on: dict[str, Any]

    def member(self, name: str) -> FamilyMember:
        names = [m.name for m in self.members]
        require(name in names, "name", f"one of {', '.join(names)}", name)
        return self.members[names.index(name)]

    def widths(self, seed: int = 0) -> list[FamilyMember]:
        """The doubling-width series of one seed, narrowest first."""
        return sorted((m for m in self.members if m.seed == seed), key=lambda m: m.d_sae)

    def seeds_of_width(self, d_sae: int) -> list[FamilyMember]:
        """Every seed trained at one width (the seed comparison of stitching)."""
        return sorted((m for m in self.members if m.d_sae == d_sae), key=lambda m: m.seed)

    def load(self, name: str) -> SAE:
        """One SAE of the family (SAELens inference form, eval mode)."""
        return load_sae(self.root / self.member(name).folder)


def write_family_index(
    root: str | Path, members: Sequence[FamilyMember], trained_on: dict[str, Any]
) -> Path:
    """Write ``family.json`` once every member's folder exists (atomically)."""
    root = Path(root)
    for m in members:
        if not (root / m.folder / "cfg.json").is_file():
            raise FileNotFoundError(f"family member {m.name!r} has no SAE at {root / m.folder}")
    index = {"members": [asdict(m) for m in members], "trained_on": trained_on}
    return atomic_write_json(root / INDEX_FILE, index)


def load_family(root: str | Path = "data/sae_family") -> SAEFamily:
    """The family at ``root`` (default: the DVC artefact the BatchTopK section writes)."""
    root = repo_path(root)
    file = root / INDEX_FILE
    if not file.is_file():
        raise FileNotFoundError(
            f"no SAE family at {str(root)!r} ({INDEX_FILE} missing): run `dvc repro batchtopk`"
        )
    raw = json.loads(file.read_text())
    members = tuple(FamilyMember(**m) for m in raw["members"])
    return SAEFamily(root, members, raw["trained_on"])
