"""SAEs trained on a cached LLM activation store: one job per SAE, run in worker processes.

A job names the cache folder, the SAELens architecture and config, how long to train and where
to save; a penalty-based SAE (JumpReLU, ReLU/L1) trains at a fixed coefficient after a warm-up
(:class:`saerepro.training.fixed_penalty.FixedPenalty`, as its papers train it) or has its
coefficient tuned toward an L0 while it trains (:class:`PenaltyTarget`).
The worker streams shuffled batches from the cache (as many epochs as the token budget needs),
trains with :func:`saerepro.training.trainer.train_sae`, and saves the SAE as SAELens's *inference*
model (decoder rows folded to unit norm; a BatchTopK SAE becomes a JumpReLU with its learned
threshold; the activation scale folded in, so the saved SAE takes raw activations; the cache's
provenance in its metadata) beside a ``training.json`` with the loss curve. Load it back with
:func:`saerepro.saes.checkpoints.load_sae`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from saerepro.data.activations import ActivationStore
from saerepro.saes.checkpoints import save_inference_sae
from saerepro.training import seeds
from saerepro.training.decoder_bias import centre_decoder_bias
from saerepro.training.fixed_penalty import FixedPenalty
from saerepro.training.sparsity_control import L0Calibration, SparsityController, penalty_name
from saerepro.training.trainer import StepHook, TrainSettings, make_training_sae, train_sae

TRAINING_FILE = "training.json"


@dataclass(frozen=True)
class PenaltyTarget:
    """Tune a penalty-based SAE's sparsity coefficient toward ``target_l0`` while it trains
    (:class:`saerepro.training.sparsity_control.SparsityController`), starting from
    ``initial``; with
    ``calibrate`` the gates are first set so training starts at that L0
    (:class:`saerepro.training.sparsity_control.L0Calibration`)."""

    target_l0: float
    initial: float
    rate: float
    gain: float = 0.0
    calibrate: bool = True


@dataclass(frozen=True)
class CachedSAEJob:
    """One SAE to train on the activation cache at ``train_dir``, saved to ``checkpoint``.

    ``sae_cfg`` holds the SAELens config fields besides ``d_in`` (which the cache fixes): for
    example ``{"d_sae": 4096, "k": 64}``. ``seed`` is the SAE's seed index. Its initial weights
    and its batch order are drawn with seeds derived from its width and ``seed``
    (:mod:`saerepro.training.seeds`), unless ``init_seed`` or ``data_seed`` names one.
    ``centre_decoder_bias`` starts the decoder bias at the first batch's mean
    (:mod:`saerepro.training.decoder_bias`); a calibrated penalty always does. ``with_bos``
    trains on batches with the BOS activation at its natural frequency (CU trained with BOS in
    the data); every other SAE trains without it, as the cache stores no BOS position.
    """

    train_dir: str
    architecture: str
    sae_cfg: dict[str, Any]
    settings: TrainSettings
    seed: int
    checkpoint: str
    penalty: PenaltyTarget | FixedPenalty | None = None
    centre_decoder_bias: bool = False
    init_seed: int | None = None
    data_seed: int | None = None
    with_bos: bool = False  # BOS rows mixed into every batch at their natural frequency

    @property
    def initial_seed(self) -> int:
        """The torch seed of the initial weights."""
        if self.init_seed is not None:
            return self.init_seed
        return seeds.init_seed(int(self.sae_cfg["d_sae"]), self.seed)

    @property
    def batch_seed(self) -> int:
        """The seed of the batch order over the cache."""
        if self.data_seed is not None:
            return self.data_seed
        return seeds.data_seed(int(self.sae_cfg["d_sae"]), self.seed)


@dataclass(frozen=True)
class CachedSAERun:
    """What training reported: the loss curve (MSE and batch L0 every ``record_every`` steps)."""

    checkpoint: str
    loss_steps: list[int] = field(default_factory=list)
    mse_losses: list[float] = field(default_factory=list)
    l0s: list[float] = field(default_factory=list)
    seconds: float = 0.0
    tokens: int = 0
    epochs: float = 0.0
    coefficients: list[float] = field(default_factory=list)  # a tuned penalty, at loss_steps
    final_coefficient: float | None = None


def train_cached_sae(job: CachedSAEJob, hooks: Sequence[StepHook] = ()) -> CachedSAERun:
    """Train one SAE on the cache and save it (inference form plus ``training.json``);
    ``hooks`` (for example a probe that records dead latents) run after the job's own."""
    store = ActivationStore(job.train_dir)
    tokens = job.settings.steps * job.settings.batch_size
    epochs = math.ceil(tokens / len(store)) + 1  # shards drop their last partial batch
    fixed = isinstance(job.penalty, FixedPenalty)
    sae_cfg = dict(job.sae_cfg)
    if fixed:
        sae_cfg |= job.penalty.sae_cfg(job.architecture, job.settings.steps)
    sae = make_training_sae(job.architecture, job.initial_seed, d_in=store.d_model, **sae_cfg)
    batches = store.batches(
        job.settings.batch_size, seed=job.batch_seed, epochs=epochs, with_bos=job.with_bos
    )
    tuned = job.penalty is not None and not fixed
    calibrate = tuned and job.penalty.calibrate
    controller, own_hooks = None, []
    if job.centre_decoder_bias or calibrate:
        own_hooks.append(centre_decoder_bias)
    if tuned:
        if calibrate:
            own_hooks.append(L0Calibration(job.penalty.target_l0))
        controller = SparsityController(
            penalty_name(job.architecture),
            job.penalty.target_l0,
            job.penalty.initial,
            freeze_step=job.settings.steps - job.settings.lr_decay_steps,
            rate=job.penalty.rate,
            gain=job.penalty.gain,
        )
    result = train_sae(
        sae,
        batches,
        job.settings,
        hooks=[*own_hooks, *hooks],
        progress=False,
        controller=controller,
    )
    coefficients = []
    if controller is not None:
        by_step = {step: value for step, _, value in controller.history}
        coefficients = [by_step[step] for step in result.loss_steps]
    run = CachedSAERun(
        checkpoint=job.checkpoint,
        loss_steps=result.loss_steps,
        mse_losses=result.mse_losses,
        l0s=result.l0s,
        seconds=result.seconds,
        tokens=tokens,
        epochs=tokens / len(store),
        coefficients=coefficients,
        final_coefficient=None if controller is None else controller.value,
    )
    save_inference_sae(
        sae,
        job.checkpoint,
        {TRAINING_FILE: json.dumps(training_record(run)) + "\n"},
        activation_scale=store.scale,
        metadata=store.sae_metadata() | {"bos_in_training": job.with_bos},
    )
    return run


def training_record(run: CachedSAERun) -> dict[str, Any]:
    """What ``training.json`` keeps of a run: everything but its wall-clock seconds (a DVC output
    must be the same on an identical re-run; the sections put the seconds in run.json)."""
    return {key: value for key, value in asdict(run).items() if key != "seconds"}


def load_run(checkpoint: str | Path) -> CachedSAERun:
    """The training record saved beside an SAE by :func:`train_cached_sae`."""
    file = Path(checkpoint) / TRAINING_FILE
    if not file.is_file():
        raise FileNotFoundError(f"no training record at {str(file)!r}")
    return CachedSAERun(**json.loads(file.read_text()))
