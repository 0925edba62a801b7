"""Section "Bimodality and aligned training" ("Bimodality of SAE Features ... Can Be Fixed"):
parameters and training jobs.

Three groups of SAEs:

- the four architectures of the BatchTopK section (BatchTopK, TopK, JumpReLU, ReLU), read from
  its outputs, for the alignment-score histograms (Fig. 1) and their correlation with the max
  cosine to the next larger SAE (Fig. 2);
- standard and aligned ReLU SAEs at a grid of target L0s (the L1 coefficient tuned toward each
  during training, as in the BatchTopK section), and standard and aligned TopK SAEs over a grid
  of k, at one width, trained here (Fig. 4-5, 7, 10-11);
- BatchTopK SAEs on the toy model of "Sparse but Wrong" §3 at the true and two wrong L0s, where
  the true features are known (beyond the paper).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from saerepro.core.checks import require
from saerepro.core.params import load_params
from saerepro.saes.aligned import UNALIGNED  # importing it registers the aligned architectures
from saerepro.saes.architectures import LABELS as ARCHITECTURE_LABELS
from saerepro.saes.checkpoints import sae_name
from saerepro.sections import batchtopk
from saerepro.sections.toy_l0 import SECTION as TOY_SECTION
from saerepro.sections.toy_l0 import ToyL0Params
from saerepro.toy.jobs import ToySAEJob, ToySAERun, train_toy_sae
from saerepro.training.cached_jobs import CachedSAEJob, CachedSAERun, train_cached_sae
from saerepro.training.recipe import TrainingRecipe

SECTION = "bimodality"
RELU = ("standard", "aligned_standard")
TOPK = ("fast_topk", "aligned_topk")
LABELS = {a: ARCHITECTURE_LABELS[a] for a in (*RELU, *TOPK)}  # in the order of the colours


@dataclass(frozen=True)
class TrainedSpec:
    """One SAE of the standard-vs-aligned comparison: a target L0 (ReLU, its L1 coefficient
    tuned toward it) or a k (TopK)."""

    architecture: str
    d_sae: int
    sparsity: float
    seed: int

    @property
    def is_aligned(self) -> bool:
        return self.architecture in UNALIGNED

    @property
    def is_relu(self) -> bool:
        return self.architecture in RELU

    @property
    def name(self) -> str:
        kind = "aligned_" if self.is_aligned else ""
        if self.is_relu:
            return sae_name(f"{kind}relu", self.d_sae, self.seed, l0=int(self.sparsity))
        return sae_name(f"{kind}topk", self.d_sae, self.seed, k=int(self.sparsity))


@dataclass(frozen=True)
class BimodalityParams:
    """``params.yaml: bimodality.<tier>``."""

    width: int  # the standard-vs-aligned SAEs
    relu_l0s: tuple[int, ...]  # ReLU sparsity levels: target L0s for the tuned L1 coefficient
    penalty: batchtopk.PenaltySettings  # how the L1 coefficient is tuned (standard_initial)
    topk_ks: tuple[int, ...]
    seed: int
    recipe: TrainingRecipe  # params.yaml: recipe, with this section's overrides
    eval_tokens: int
    ce_windows: int
    toy_samples: int  # samples per toy SAE
    good_mode_tolerance: float  # Fig. 1: the upper mode lies within this of 1
    min_correlation: float  # Fig. 2: Pearson r counted as a clear positive correlation
    sizeable_dead_fraction: float  # Fig. 5: a standard ReLU dead fraction counted as sizeable
    near_none_dead_fraction: float  # Fig. 5: an aligned dead fraction counted as near none
    separation_auc: float  # toy: ROC AUC counted as separating correct from incorrect latents
    workers: int

    def __post_init__(self) -> None:
        require(
            len(self.relu_l0s) >= 4 and all(1 <= k < self.width for k in self.relu_l0s),
            "relu_l0s",
            f"at least four target L0s in 1..{self.width - 1} (the paper's four sparsities)",
            self.relu_l0s,
        )
        require(
            len(self.topk_ks) >= 3 and all(1 <= k < self.width for k in self.topk_ks),
            "topk_ks",
            f"at least three values in 1..{self.width - 1} (below width={self.width})",
            self.topk_ks,
        )
        for name in ("good_mode_tolerance", "min_correlation", "separation_auc"):
            require(0 < getattr(self, name) <= 1, name, "in (0, 1]", getattr(self, name))
        for name in ("sizeable_dead_fraction", "near_none_dead_fraction"):
            require(0 <= getattr(self, name) < 1, name, "in [0, 1)", getattr(self, name))
        for name in (
            "width",
            "eval_tokens",
            "ce_windows",
            "toy_samples",
            "workers",
        ):
            require(getattr(self, name) >= 1, name, "an integer >= 1", getattr(self, name))

    def specs(self) -> list[TrainedSpec]:
        """Standard and aligned ReLU at every target L0, TopK at every k."""
        relu = [TrainedSpec(a, self.width, k, self.seed) for k in self.relu_l0s for a in RELU]
        topk = [TrainedSpec(a, self.width, k, self.seed) for k in self.topk_ks for a in TOPK]
        return relu + topk

    def job(self, spec: TrainedSpec, train_dir: str | Path, root: str | Path) -> CachedSAEJob:
        penalty = None
        sae_cfg: dict[str, float] = {"d_sae": spec.d_sae}
        if spec.is_relu:
            penalty = self.penalty.target(spec.architecture, float(spec.sparsity))
        else:
            sae_cfg["k"] = int(spec.sparsity)
        return CachedSAEJob(
            train_dir=str(train_dir),
            architecture=spec.architecture,
            sae_cfg=sae_cfg,
            settings=self.recipe.settings(),
            seed=spec.seed,
            checkpoint=str(Path(root) / spec.name),
            penalty=penalty,
            centre_decoder_bias=self.recipe.centre_decoder_bias,
        )

    def toy_jobs(self, toy: ToyL0Params, root: str | Path) -> list[ToySAEJob]:
        """BatchTopK SAEs on the toy model at each headline k (the true L0 and two wrong ones)."""
        seed = toy.headline_seeds[0]
        return [toy.job(root, "toy", k, seed, self.toy_samples) for k in toy.headline_ks]

    def all_jobs(
        self, toy: ToyL0Params, train_dir: str | Path, root: str | Path
    ) -> list[CachedSAEJob | ToySAEJob]:
        """Every SAE to train, the longest first so the workers finish together: the dense
        ReLU SAEs, then the toy SAEs, then TopK by falling k."""
        by_sparsity = sorted(self.specs(), key=lambda s: -s.sparsity)
        relu = [self.job(s, train_dir, root) for s in by_sparsity if s.is_relu]
        topk = [self.job(s, train_dir, root) for s in by_sparsity if not s.is_relu]
        return [*relu, *self.toy_jobs(toy, root), *topk]


def compared_widths(family: batchtopk.BatchTopKParams) -> tuple[int, int]:
    """Fig. 1-2: the second-widest width of the BatchTopK section and the next larger."""
    return family.widths[-2], family.widths[-1]


def batchtopk_folder(
    family: batchtopk.BatchTopKParams,
    architecture: str,
    d_sae: int,
    family_root: str | Path,
    batchtopk_root: str | Path,
) -> str:
    """Where the BatchTopK section saved its SAE of ``architecture`` at ``d_sae`` and its k."""
    spec = batchtopk.SAESpec(architecture, d_sae, family.k, family.seed)
    return family.folder(spec, family_root, Path(batchtopk_root) / "checkpoints")


def train(job: CachedSAEJob | ToySAEJob) -> CachedSAERun | ToySAERun:
    """Train one SAE of this section: on the activation cache, or on the toy model."""
    if isinstance(job, ToySAEJob):
        return train_toy_sae(job)
    return train_cached_sae(job)


def load(tier: str | None = None, params_file: str = "params.yaml") -> BimodalityParams:
    return load_params(SECTION, BimodalityParams, tier, params_file)


def load_toy(tier: str | None = None, params_file: str = "params.yaml") -> ToyL0Params:
    """The toy model and toy SAE settings of the toy L0 section, which the toy SAEs here share."""
    return load_params(TOY_SECTION, ToyL0Params, tier, params_file)
