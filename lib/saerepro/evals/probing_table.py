"""The probing benchmark's task table: per task its kind, classes, sizes, how many texts the
overlap filter removed, the dense-probe ceiling (last token and mean-pooled) and the bag-of-tokens
baseline, whether the task is easy (dense F1 at or above ``EASY_F1``) and whether even the dense
probe is near chance (dense AUC below ``CHANCE_AUC``): neither kind can tell SAEs apart."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from saerepro.data.activations import example_token_ids
from saerepro.data.probing_tasks import ProbeTask, ProbingExample
from saerepro.evals.probing import bag_of_tokens_probe, dense_probe

EASY_F1 = 0.98  # a task whose dense ceiling reaches this leaves no room to tell SAEs apart
CHANCE_AUC = 0.6  # a task whose dense ceiling stays below this has no signal for SAEs to keep


def task_row(
    task: ProbeTask,
    examples: Sequence[ProbingExample],
    info: dict[str, Any],
    tokenizer: Any,
    max_tokens: int,
) -> dict[str, Any]:
    """One task's row of the table (``info`` is its entry in the probing set's ``tasks.json``)."""
    last, mean = dense_probe(task, "last"), dense_probe(task, "mean")
    ids = example_token_ids(tokenizer, [e.text for e in examples], max_tokens)
    tokens = bag_of_tokens_probe([row[1:] for row in ids], task)  # BOS carries nothing
    return {
        "task": task.name,
        "kind": info["kind"],
        "classes": " vs ".join(info["classes"]),
        "per_class": info["per_class"],
        "test_per_class": info["test_per_class"],
        "available": " / ".join(map(str, info["available"])),
        "removed_in_corpus": sum(info["dropped"]["in_training_corpus"]),
        "dense_f1": last.f1,
        "dense_auc": last.auc,
        "dense_f1_mean_pooled": mean.f1,
        "bag_of_tokens_f1": tokens.f1,
        "bag_of_tokens_auc": tokens.auc,
        "easy": last.f1 >= EASY_F1,
        "near_chance": last.auc < CHANCE_AUC,
        "mean_tokens": float(sum(len(row) - 1 for row in ids) / len(ids)),
        "packages": ", ".join(f"{p['name']} {p['version']}" for p in info["packages"]),
    }


def kind_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per kind: the number of tasks, how many are easy, and the mean ceiling and baseline."""
    grouped = table.groupby("kind")
    return pd.DataFrame(
        {
            "tasks": grouped.size(),
            "easy": grouped.easy.sum(),
            "near_chance": grouped.near_chance.sum(),
            "dense_f1": grouped.dense_f1.mean(),
            "bag_of_tokens_f1": grouped.bag_of_tokens_f1.mean(),
        }
    )
