"""Section "BatchTopK comparisons" (Canonical Units §6, A.2-A.3, Fig. 7-9): parameters and jobs.

BatchTopK, TopK, JumpReLU and ReLU (L1) SAEs trained on the same cached activations and tokens:
a width series at fixed k and a k series at one width. The penalty-based architectures have
their coefficient tuned during training toward the same L0
(:mod:`saerepro.training.sparsity_control`).
The BatchTopK width series plus a second seed is written as the SAE family
(:mod:`saerepro.training.family`) that later sections load.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from saerepro.core.checks import require
from saerepro.core.params import load_params
from saerepro.saes.architectures import LABELS as ARCHITECTURE_LABELS
from saerepro.saes.checkpoints import sae_name
from saerepro.training.cached_jobs import CachedSAEJob, PenaltyTarget
from saerepro.training.family import FamilyMember, member_name
from saerepro.training.recipe import TrainingRecipe
from saerepro.training.sparsity_control import PENALTY_NAMES, penalty_name

SECTION = "batchtopk"
COMPARED = ("fast_batchtopk", "fast_topk", "jumprelu", "standard")
LABELS = {a: ARCHITECTURE_LABELS[a] for a in COMPARED}  # in the order of the figures' colours
FAMILY_ARCHITECTURE = "fast_batchtopk"


@dataclass(frozen=True)
class PenaltySettings:
    """How the penalty-based SAEs are tuned toward the target L0."""

    jumprelu_initial: float  # initial L0 coefficient of JumpReLU
    standard_initial: float  # initial L1 coefficient of ReLU
    rate: float  # integral gain: log-coefficient step per step and unit of log(L0 / target)
    gain: float  # proportional gain on log(L0 / target)
    calibrate: bool  # set the gates from the first batch so training starts at the target L0
    jumprelu_bandwidth: float
    jumprelu_ste_to_input: bool  # JumpReLU threshold gradient also flows to the input

    def __post_init__(self) -> None:
        for name in ("jumprelu_initial", "standard_initial", "rate", "jumprelu_bandwidth"):
            require(getattr(self, name) > 0, f"penalty.{name}", "> 0", getattr(self, name))
        require(self.gain >= 0, "penalty.gain", ">= 0", self.gain)

    def target(self, architecture: str, target_l0: float) -> PenaltyTarget:
        """Tune ``architecture``'s coefficient toward ``target_l0``, starting from the initial
        value of its penalty (L0: ``jumprelu_initial``, L1: ``standard_initial``)."""
        l0_penalty = penalty_name(architecture) == "l0"
        return PenaltyTarget(
            target_l0,
            self.jumprelu_initial if l0_penalty else self.standard_initial,
            self.rate,
            gain=self.gain,
            calibrate=self.calibrate,
        )


@dataclass(frozen=True)
class SAESpec:
    """One SAE of the comparison."""

    architecture: str
    d_sae: int
    k: int
    seed: int

    @property
    def name(self) -> str:
        if self.architecture == FAMILY_ARCHITECTURE:
            return member_name(self.d_sae, self.k, self.seed)
        short = LABELS[self.architecture].split()[0].lower()
        return sae_name(short, self.d_sae, self.seed, k=self.k)


@dataclass(frozen=True)
class BatchTopKParams:
    """``params.yaml: batchtopk.<tier>``."""

    architectures: tuple[str, ...]
    widths: tuple[int, ...]
    k: int
    fixed_width: int
    ks: tuple[int, ...]
    seed: int
    second_seed: int
    recipe: TrainingRecipe  # params.yaml: recipe, with this section's overrides
    penalty: PenaltySettings
    l0_tolerance: float
    eval_tokens: int
    ce_windows: int
    workers: int

    def __post_init__(self) -> None:
        require(
            set(self.architectures) <= set(LABELS)
            and {"fast_batchtopk", "fast_topk"} <= set(self.architectures),
            "architectures",
            f"a list from {', '.join(LABELS)} that includes fast_batchtopk and fast_topk",
            self.architectures,
        )
        require(
            len(self.widths) >= 4
            and all(b == 2 * a for a, b in zip(self.widths, self.widths[1:], strict=False)),
            "widths",
            "at least four widths, each double the one before",
            self.widths,
        )
        require(
            self.fixed_width in self.widths,
            "fixed_width",
            f"one of the widths {list(self.widths)}",
            self.fixed_width,
        )
        require(
            self.k in self.ks and all(1 <= k < self.widths[0] for k in self.ks),
            "ks",
            f"values in 1..{self.widths[0] - 1} (below the narrowest width) including k={self.k}",
            self.ks,
        )
        require(
            self.second_seed != self.seed,
            "second_seed",
            f"a seed other than {self.seed}",
            self.second_seed,
        )
        require(0 < self.l0_tolerance < 1, "l0_tolerance", "in (0, 1)", self.l0_tolerance)
        for name in ("eval_tokens", "ce_windows", "workers"):
            require(getattr(self, name) >= 1, name, "an integer >= 1", getattr(self, name))

    def specs(self) -> list[SAESpec]:
        """Every SAE: the width series at k, the k series at ``fixed_width``, the second seed."""
        specs = [SAESpec(a, d, self.k, self.seed) for a in self.architectures for d in self.widths]
        specs += [
            SAESpec(a, self.fixed_width, k, self.seed)
            for a in self.architectures
            for k in self.ks
            if k != self.k
        ]
        specs.append(SAESpec(FAMILY_ARCHITECTURE, self.fixed_width, self.k, self.second_seed))
        return specs

    def family(self) -> list[FamilyMember]:
        """The BatchTopK SAEs that form the family: the width series and the second seed."""
        return [
            FamilyMember(s.name, s.d_sae, s.k, s.seed, s.name)
            for s in self.specs()
            if s.architecture == FAMILY_ARCHITECTURE and s.k == self.k
        ]

    def folder(self, spec: SAESpec, family_root: str | Path, other_root: str | Path) -> str:
        """Family members live in the family folder, every other SAE beside it."""
        is_member = any(m.name == spec.name for m in self.family())
        return str(Path(family_root if is_member else other_root) / spec.name)

    def job(self, spec: SAESpec, train_dir: str | Path, folder: str) -> CachedSAEJob:
        sae_cfg: dict[str, float | bool] = {"d_sae": spec.d_sae}
        penalty = None
        if spec.architecture in PENALTY_NAMES:
            penalty = self.penalty.target(spec.architecture, float(spec.k))
            if spec.architecture == "jumprelu":
                sae_cfg["jumprelu_bandwidth"] = self.penalty.jumprelu_bandwidth
                sae_cfg["jumprelu_ste_to_input"] = self.penalty.jumprelu_ste_to_input
        else:
            sae_cfg["k"] = spec.k
        return CachedSAEJob(
            train_dir=str(train_dir),
            architecture=spec.architecture,
            sae_cfg=sae_cfg,
            settings=self.recipe.settings(),
            seed=spec.seed,
            checkpoint=folder,
            penalty=penalty,
            centre_decoder_bias=self.recipe.centre_decoder_bias,
        )

    def jobs(
        self, train_dir: str | Path, family_root: str | Path, other_root: str | Path
    ) -> list[tuple[SAESpec, CachedSAEJob]]:
        """Every SAE's job, slowest (widest, penalty-based) first so the workers finish together."""
        pairs = [
            (s, self.job(s, train_dir, self.folder(s, family_root, other_root)))
            for s in self.specs()
        ]
        return sorted(
            pairs, key=lambda p: (-p[0].d_sae, p[0].architecture not in PENALTY_NAMES, -p[0].k)
        )


def load(tier: str | None = None, params_file: str = "params.yaml") -> BatchTopKParams:
    return load_params(SECTION, BatchTopKParams, tier, params_file)
