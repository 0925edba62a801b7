"""Independent jobs across single-thread worker processes (on 2 cores this beats 2 threads)."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import TypeVar

import torch
from tqdm.auto import tqdm

from saerepro.core.checks import require

J = TypeVar("J")
R = TypeVar("R")


def _single_thread_worker() -> None:
    torch.set_num_threads(1)


def map_jobs(fn: Callable[[J], R], jobs: Sequence[J], workers: int, desc: str) -> list[R]:
    """``[fn(job) for job in jobs]``, run in ``workers`` single-thread processes, in job order.

    Every job runs single-threaded whatever ``workers`` is, so results do not depend on it.
    ``fn`` must be importable (defined in a module) to reach spawned workers.
    """
    require(workers >= 1, "workers", "an integer >= 1", workers)
    if workers == 1 or len(jobs) <= 1:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return [fn(job) for job in tqdm(jobs, desc=desc)]
        finally:
            torch.set_num_threads(threads)
    results: dict[int, R] = {}
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_single_thread_worker
    ) as pool:
        futures = {pool.submit(fn, job): i for i, job in enumerate(jobs)}
        for future in tqdm(as_completed(futures), total=len(futures), desc=desc):
            results[futures[future]] = future.result()
    return [results[i] for i in range(len(jobs))]
