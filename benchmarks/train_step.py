"""Stock SAELens vs the fast training SAEs, measured side by side in one run.

    python benchmarks/train_step.py            # full sizes -> results/benchmarks/train_step.json
    python benchmarks/train_step.py --smoke    # tiny sizes, seconds (kept runnable by a test)

For each LLM-sized shape both architectures train from the same initialisation on the same batches
(the backbone's cached activations where they exist, Gaussian noise otherwise) under SAETrainer;
a step's time is the gap between consecutive step hooks, and tokens/s uses the median timed step.
The one-dense-matmul bound is the time of the encoder matmul alone. The toy rows use the paper's
toy model single-threaded, as the sections run it. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from saerepro.core.atomic import atomic_write_text
from saerepro.core.parallel import map_jobs
from saerepro.core.paths import repo_path
from saerepro.data.backbone import BackboneData, open_stores
from saerepro.saes.fast import STOCK_EQUIVALENT
from saerepro.toy.jobs import ToySAEJob, train_toy_sae
from saerepro.toy.model import ToyModel, ToyModelConfig
from saerepro.training.trainer import TrainSettings, make_training_sae, train_sae


@dataclass(frozen=True)
class Shape:
    """One benchmarked SAE: its name in the results, size, k, batch and how many steps to time."""

    name: str
    d_in: int
    d_sae: int
    k: int
    batch_size: int
    warmup_steps: int
    timed_steps: dict[str, int]  # per architecture: the stock path gets fewer (it is slow)


FULL = {
    "llm": [
        Shape("640x4096_k64", 640, 4096, 64, 4096, 2, {"stock": 8, "fast": 30}),
        Shape("640x16384_k64", 640, 16384, 64, 4096, 2, {"stock": 5, "fast": 15}),
    ],
    "toy": Shape("toy_100x50_k11", 100, 50, 11, 1024, 50, {"stock": 1500, "fast": 1500}),
    "sweep_samples": 1_000_000,
    "sweep_ks": list(range(2, 26)),
}
SMOKE = {
    "llm": [Shape("64x512_k8", 64, 512, 8, 256, 1, {"stock": 3, "fast": 3})],
    "toy": Shape("toy_100x50_k11", 100, 50, 11, 1024, 2, {"stock": 5, "fast": 5}),
    "sweep_samples": 4096,
    "sweep_ks": [2, 3],
}


def _batches(d_in: int, batch_size: int, seed: int) -> tuple[Iterator[torch.Tensor], str]:
    """Cached backbone activations when their width matches, else Gaussian noise."""
    data = BackboneData(repo_path("data/backbone"))
    if data.train_acts.is_dir():
        train, _ = open_stores(data)
        if train.d_model == d_in:
            return train.batches(batch_size, seed=seed, epochs=100), "backbone activations"

    def noise() -> Iterator[torch.Tensor]:
        gen = torch.Generator().manual_seed(seed)
        while True:
            yield torch.randn(batch_size, d_in, generator=gen)

    return noise(), "gaussian noise"


def _step_clock() -> tuple[list[float], Callable[..., None]]:
    """A step hook that stamps the time before every step, and the list it fills."""
    stamps: list[float] = []
    return stamps, lambda *_: stamps.append(time.perf_counter())


def _time_training(arch: str, shape: Shape, steps: int) -> dict:
    """Train ``warmup + steps`` steps; per-step seconds from the gaps between step hooks."""
    stamps, clock = _step_clock()
    sae = make_training_sae(arch, seed=0, d_in=shape.d_in, d_sae=shape.d_sae, k=shape.k)
    data, source = _batches(shape.d_in, shape.batch_size, seed=1)
    total = shape.warmup_steps + steps + 1  # the last hook closes the last timed step
    settings = TrainSettings(total_samples=total * shape.batch_size, batch_size=shape.batch_size)
    result = train_sae(sae, data, settings, hooks=[clock], progress=False)
    gaps = [b - a for a, b in itertools.pairwise(stamps)][shape.warmup_steps :]
    median = statistics.median(gaps)
    return {
        "architecture": arch,
        "timed_steps": len(gaps),
        "median_step_s": median,
        "tokens_per_s": shape.batch_size / median,
        "mse_curve": result.mse_losses,
        "l0_curve": result.l0s,
        "data": source,
    }


def _matmul_bound(shape: Shape, dtype: torch.dtype = torch.float32, repeats: int = 5) -> float:
    """Median seconds of the encoder matmul ``x @ W_enc + b_enc`` alone."""
    x = torch.randn(shape.batch_size, shape.d_in, dtype=dtype)
    W, b = torch.randn(shape.d_in, shape.d_sae, dtype=dtype), torch.zeros(shape.d_sae, dtype=dtype)
    torch.addmm(b, x, W)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        torch.addmm(b, x, W)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _compare(shape: Shape, fast: str = "fast_batchtopk") -> dict:
    stock = _time_training(STOCK_EQUIVALENT[fast], shape, shape.timed_steps["stock"])
    ours = _time_training(fast, shape, shape.timed_steps["fast"])
    bound = shape.batch_size / _matmul_bound(shape)
    common = min(len(stock["mse_curve"]), len(ours["mse_curve"]))
    mse_gap = max(
        abs(a - b) / a
        for a, b in zip(stock["mse_curve"][:common], ours["mse_curve"][:common], strict=True)
    )
    return {
        "shape": {"d_in": shape.d_in, "d_sae": shape.d_sae, "k": shape.k},
        "batch_size": shape.batch_size,
        "stock": stock,
        "fast": ours,
        "speedup": ours["tokens_per_s"] / stock["tokens_per_s"],
        "matmul_bound_tokens_per_s": bound,
        "fast_fraction_of_bound": ours["tokens_per_s"] / bound,
        "max_relative_mse_gap_same_steps": mse_gap,
    }


def _sweep_jobs(ks: list[int], samples: int, arch: str, folder: Path) -> list[ToySAEJob]:
    settings = TrainSettings(total_samples=samples, batch_size=1024)
    return [
        ToySAEJob(ToyModelConfig(), k, 50, settings, 0, str(folder / f"{arch}_k{k}"), None, arch)
        for k in ks
    ]


def _sweep(ks: list[int], samples: int, folder: Path) -> dict:
    """Wall time of the toy k sweep: stock and fast in single-thread worker processes (one per
    core), and fast one SAE after another in this process's threads."""
    cores = os.cpu_count() or 1
    out = {"ks": ks, "samples_per_sae": samples, "cores": cores}
    for arch in ("batchtopk", "fast_batchtopk"):
        jobs = _sweep_jobs(ks, samples, arch, folder)
        start = time.perf_counter()
        map_jobs(train_toy_sae, jobs, workers=cores, desc=f"{arch} sweep")
        out[f"{'stock' if arch == 'batchtopk' else 'fast'}_processes_s"] = (
            time.perf_counter() - start
        )
    jobs = _sweep_jobs(ks, samples, "fast_batchtopk", folder)
    torch.set_num_threads(cores)
    start = time.perf_counter()
    for job in jobs:
        train_toy_sae(replace(job, checkpoint=job.checkpoint + "_threads"))
    out["fast_threads_s"] = time.perf_counter() - start
    out["speedup"] = out["stock_processes_s"] / out["fast_processes_s"]
    out["processes_speedup_over_threads"] = out["fast_threads_s"] / out["fast_processes_s"]
    return out


def _toy_rate(shape: Shape) -> dict:
    torch.set_num_threads(1)
    model = ToyModel(ToyModelConfig())
    rates = {}
    for label, arch in (("stock", "batchtopk"), ("fast", "fast_batchtopk")):
        sae = make_training_sae(arch, seed=0, d_in=shape.d_in, d_sae=shape.d_sae, k=shape.k)
        steps = shape.warmup_steps + shape.timed_steps[label]
        stamps, clock = _step_clock()
        settings = TrainSettings(total_samples=steps * 1024, batch_size=1024)
        train_sae(sae, model.batches(1024, seed=1), settings, hooks=[clock], progress=False)
        timed = stamps[-1] - stamps[shape.warmup_steps]
        rates[label] = {"samples_per_s": 1024 * (len(stamps) - 1 - shape.warmup_steps) / timed}
    rates["speedup"] = rates["fast"]["samples_per_s"] / rates["stock"]["samples_per_s"]
    return rates


def _precision(shape: Shape) -> dict:
    """Whether bf16 could pay here: the encoder matmul's speed in fp32 and in bf16."""
    flops = 2 * shape.batch_size * shape.d_in * shape.d_sae
    fp32 = _matmul_bound(shape)
    bf16 = _matmul_bound(shape, torch.bfloat16, repeats=1)
    return {
        "fp32_gflops": flops / fp32 / 1e9,
        "bf16_gflops": flops / bf16 / 1e9,
        "bf16_over_fp32": fp32 / bf16,
        "used": fp32 / bf16 > 1.0,
    }


def run(config: dict, out: Path, scratch: Path) -> dict:
    threads = os.cpu_count() or 1
    torch.set_num_threads(threads)
    results: dict = {
        "machine": {"processor": platform.processor() or platform.machine(), "threads": threads},
        "torch": torch.__version__,
    }
    for shape in config["llm"]:
        torch.set_num_threads(threads)
        results[shape.name] = _compare(shape)
        print(shape.name, f"speedup {results[shape.name]['speedup']:.2f}x", flush=True)
    torch.set_num_threads(threads)
    results["mixed_precision"] = _precision(config["llm"][0])
    results[config["toy"].name] = _toy_rate(config["toy"])
    results["toy_sweep_k2_25"] = _sweep(config["sweep_ks"], config["sweep_samples"], scratch)
    atomic_write_text(out, json.dumps(results, indent=2) + "\n")
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (seconds)")
    parser.add_argument("--out", default=None, help="default: results/benchmarks/train_step.json")
    parser.add_argument("--scratch", default="build/benchmarks", help="checkpoints of the sweep")
    args = parser.parse_args(argv)
    default = (
        "build/smoke/benchmarks/train_step.json"
        if args.smoke
        else "results/benchmarks/train_step.json"
    )
    out = repo_path(args.out or default)
    out.parent.mkdir(parents=True, exist_ok=True)
    run(SMOKE if args.smoke else FULL, out, repo_path(args.scratch))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
