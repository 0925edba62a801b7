"""Why do our aligned ReLU SAEs end 77-90 % dead (BIM reports about none)? Measured, part by part.

    python studies/aligned_dead_latents.py            # cpu-tier cache -> results/studies/...
    python studies/aligned_dead_latents.py --smoke    # tiny, seconds (kept runnable by a test)

The bimodality section trains aligned ReLU SAEs with three parts of our pipeline that BIM's do
not have: SAELens's decoder init at row norm 0.1 (with a_i = 1 this forces every encoder row to
norm >= 10, 100x a standard SAE's), gates calibrated on the first batch so training starts at the
target L0, and a PI controller that moves the L1 coefficient toward the target. Each variant
below removes one part (or swaps the controller for a fixed coefficient with an L1 warm-up) and
records the share of dead latents along training (a latent is dead once it has not fired on the
training batches of the last ``window`` steps) and, at the end, on held-out tokens.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import saerepro.saes.aligned  # noqa: F401  (registers aligned_standard with SAELens)
from saerepro.core.atomic import atomic_write_csv, atomic_write_text
from saerepro.core.parallel import map_jobs
from saerepro.core.paths import repo_path
from saerepro.data.activations import ActivationStore
from saerepro.data.backbone import BackboneData
from saerepro.evals.heldout import heldout_metrics
from saerepro.saes.checkpoints import load_sae
from saerepro.sections import bimodality
from saerepro.training.cached_jobs import CachedSAEJob, train_cached_sae
from saerepro.training.dead_latents import DeadLatentProbe
from saerepro.training.trainer import TrainSettings


@dataclass(frozen=True)
class Variant:
    """One way to train the SAE: what differs from the section's pipeline."""

    name: str
    architecture: str
    decoder_init_norm: float  # SAELens's default is 0.1
    calibrate: bool  # gates set on the first batch
    controller: bool  # PI control of the L1 coefficient toward the target; else fixed
    fixed_l1: float = 0.0  # the coefficient when there is no controller
    warmup_fraction: float = 0.0  # L1 warm-up, as a share of steps, with a fixed coefficient


def variants(fixed_l1s: Sequence[float]) -> list[Variant]:
    """The section's pipeline, then each part removed in turn; the same for standard ReLU."""
    section = Variant("aligned: section pipeline", "aligned_standard", 0.1, True, True)
    standard = replace(section, name="standard: section pipeline", architecture="standard")
    fixed = [
        replace(
            base,
            name=f"{base.name.split(':')[0]}: fixed L1 {c:g}, 5 % warm-up",
            calibrate=False,
            controller=False,
            fixed_l1=c,
            warmup_fraction=0.05,
        )
        for base in (section, standard)
        for c in fixed_l1s
    ]
    return [
        section,
        replace(section, name="aligned: decoder init norm 1", decoder_init_norm=1.0),
        replace(section, name="aligned: no gate calibration", calibrate=False),
        standard,
        *fixed,
    ]


@dataclass(frozen=True)
class Run:
    variant: Variant
    train_dir: str
    checkpoint: str
    d_sae: int
    target_l0: float
    settings: TrainSettings
    window: int
    every: int
    tier: str


def job_of(run: Run) -> CachedSAEJob:
    v = run.variant
    sae_cfg: dict[str, float] = {"d_sae": run.d_sae, "decoder_init_norm": v.decoder_init_norm}
    penalty = None
    if v.controller:  # the bimodality section's own controller settings
        tuned = bimodality.load(run.tier).penalty.target(v.architecture, run.target_l0)
        penalty = replace(tuned, calibrate=v.calibrate)
    else:
        sae_cfg |= {
            "l1_coefficient": v.fixed_l1,
            "l1_warm_up_steps": int(v.warmup_fraction * run.settings.steps),
        }
    return CachedSAEJob(
        train_dir=run.train_dir,
        architecture=v.architecture,
        sae_cfg=sae_cfg,
        settings=run.settings,
        seed=0,
        checkpoint=run.checkpoint,
        penalty=penalty,
        centre_decoder_bias=True,
    )


def train_variant(run: Run) -> dict:
    """Train one variant with a dead-latent probe; its history and final L0."""
    probe = DeadLatentProbe(run.window, run.every)
    result = train_cached_sae(job_of(run), hooks=[probe])
    return {
        "history": probe.history,
        "final_batch_l0": result.l0s[-1],
        "final_coefficient": result.final_coefficient,
        "seconds": result.seconds,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, seconds")
    parser.add_argument("--data", default=None, help="backbone data folder (default: the tier's)")
    parser.add_argument("--train-dir", default=None, help="an activation cache to train on")
    parser.add_argument("--heldout-dir", default=None, help="its held-out cache")
    parser.add_argument("--out", default=None, help="results folder")
    parser.add_argument("--tokens", type=int, default=1_000_000)
    parser.add_argument("--fixed-l1", type=float, nargs="+", default=[1.0, 4.0])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    tier = "smoke" if args.smoke else "cpu"
    default_data = "build/smoke/data/backbone" if args.smoke else "data/backbone"
    data = BackboneData(repo_path(args.data or default_data))
    train_dir = Path(args.train_dir) if args.train_dir else data.train_acts
    heldout_dir = Path(args.heldout_dir) if args.heldout_dir else data.heldout_acts
    out = repo_path(args.out or ("build/studies/smoke" if args.smoke else "results/studies"))
    work = out / "checkpoints" if args.smoke else repo_path("build/studies/cpu/checkpoints")
    d_sae, target = (64, 4.0) if args.smoke else (2048, 32.0)
    tokens = 6000 if args.smoke else args.tokens
    batch = 60 if args.smoke else 512
    settings = TrainSettings(tokens, batch, lr=5e-4, lr_decay_fraction=0.2)
    window = max(1, min(500, settings.steps // 4))
    runs = [
        Run(v, str(train_dir), str(work / f"v{i}"), d_sae, target, settings, window, 2, tier)
        for i, v in enumerate(variants(args.fixed_l1))
    ]
    results = map_jobs(train_variant, runs, workers=args.workers, desc="aligned dead latents")
    train_store = ActivationStore(train_dir)
    heldout_store = ActivationStore(heldout_dir, scale=train_store.scale)
    heldout = heldout_store.read(0, 65536)
    rows, history = [], []
    for run, result in zip(runs, results, strict=True):
        scores = heldout_metrics(load_sae(run.checkpoint), heldout)
        rows.append(
            {
                "variant": run.variant.name,
                "architecture": run.variant.architecture,
                "heldout_dead_fraction": scores.dead_fraction,
                "heldout_l0": scores.l0,
                "heldout_nmse": scores.nmse,
                "final_coefficient": result["final_coefficient"],
                "final_encoder_norm": result["history"][-1][2],
                "dead_at_quarter": _at(result["history"], 0.25),
                "dead_at_half": _at(result["history"], 0.5),
                "dead_at_end": result["history"][-1][1],
                "seconds": round(result["seconds"], 1),
            }
        )
        history += [
            {"variant": run.variant.name, "step": s, "dead_share": d, "encoder_norm": n}
            for s, d, n in result["history"]
        ]
    table = pd.DataFrame(rows)
    atomic_write_csv(out / "aligned_dead_latents.csv", table)
    atomic_write_csv(out / "aligned_dead_latents_history.csv", pd.DataFrame(history))
    setup = {
        "tier": tier,
        "d_sae": d_sae,
        "target_l0": target,
        "tokens": tokens,
        "batch_size": batch,
        "window_steps": window,
        "heldout_tokens": len(heldout),
        "fixed_l1": args.fixed_l1,
    }
    atomic_write_text(out / "aligned_dead_latents.json", json.dumps(setup, indent=2) + "\n")
    print(json.dumps(setup))
    print(table.round(4).to_string())


def _at(history: list[tuple[int, float, float]], fraction: float) -> float:
    last = history[-1][0]
    return min(history, key=lambda h: abs(h[0] - fraction * last))[1]


if __name__ == "__main__":
    main()
