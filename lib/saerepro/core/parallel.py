"""Independent jobs across single-thread worker processes (on 2 cores this beats 2 threads).

Workers never outlive the process that started them
(:func:`saerepro.core.lifetime.die_with_parent`). On any error or interrupt in the parent, pending
jobs are cancelled and running workers are terminated before the error propagates, so nothing
more is written.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import TypeVar

import torch
from tqdm.auto import tqdm

from saerepro.core.checks import require
from saerepro.core.lifetime import die_with_parent

J = TypeVar("J")
R = TypeVar("R")


def _single_thread_worker(parent: int) -> None:
    die_with_parent(parent)
    torch.set_num_threads(1)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Cancel what has not started and terminate the workers that are running."""
    processes = list(getattr(pool, "_processes", {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(Exception):
            process.terminate()
    for process in processes:
        with contextlib.suppress(Exception):
            process.join(timeout=5)


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
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_single_thread_worker,
        initargs=(os.getpid(),),
    )
    try:
        futures = {pool.submit(fn, job): i for i, job in enumerate(jobs)}
        for future in tqdm(as_completed(futures), total=len(futures), desc=desc):
            results[futures[future]] = future.result()
    except BaseException:
        _stop(pool)
        raise
    pool.shutdown(wait=True)
    return [results[i] for i in range(len(jobs))]
