"""The LLM backbone: model, corpus, probing sets and activation caches, built step by step.

Each step writes one folder under ``data_dir`` atomically, so a folder that exists is complete,
and records in it the params that decide its content (:func:`step_record`,
:mod:`saerepro.core.built_record`). DVC runs the steps as the stages ``model``, ``corpus``,
``probing_data`` and ``activations`` (``python -m saerepro.data.backbone STEP``); a notebook
calls :func:`prepare`, which runs the steps whose folder is missing, records nothing, or was
built with other params (saying which).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from saerepro.core.atomic import atomic_directory
from saerepro.core.built_record import differences, read_record, write_record
from saerepro.core.checks import ParamError, require
from saerepro.core.params import load_params
from saerepro.core.paths import repo_path
from saerepro.data import model as lm
from saerepro.data.activations import (
    ActivationStore,
    cache_activations,
    example_activations,
    token_windows,
)
from saerepro.data.corpus import CorpusSettings, build_corpus, read_documents
from saerepro.data.probing_tasks import ProbeTask, ProbingSettings, build_probing_sets, read_task

SECTION = "backbone"
PACKAGE_DIR = "build/debian-packages"
HUB_MODEL_FILE = "hub_model.json"
STEP_FOLDERS = {
    "model": "model",
    "corpus": "corpus",
    "probing_data": "probing",
    "activations": "activations",
}  # each step, in build order, and the folder (a BackboneData property) it writes
STEPS = tuple(STEP_FOLDERS)


@dataclass(frozen=True)
class BackboneParams:
    """``params.yaml: backbone.<tier>``."""

    model: str
    layer: int
    context: int
    corpus: CorpusSettings
    probing: ProbingSettings
    probe_tokens: int
    train_tokens: int
    heldout_tokens: int
    ce_windows: int
    batch_size: int
    ce_batch_size: int
    seed: int

    def __post_init__(self) -> None:
        allowed = (lm.OFFLINE_MODEL, *lm.HUB_MODELS)
        require(self.model in allowed, "model", f"one of {', '.join(allowed)}", self.model)
        blocks = lm.N_LAYERS[self.model]
        require(
            0 <= self.layer < blocks,
            "layer",
            f"a block index in 0..{blocks - 1} ({self.model} has {blocks} blocks)",
            self.layer,
        )
        require(self.context >= 3, "context", "at least 3 tokens", self.context)
        require(self.probe_tokens >= 2, "probe_tokens", "at least 2", self.probe_tokens)
        for name in ("train_tokens", "heldout_tokens", "ce_windows", "batch_size", "ce_batch_size"):
            require(getattr(self, name) >= 1, name, "a positive integer", getattr(self, name))


def load(tier: str | None = None, params_file: str = "params.yaml") -> BackboneParams:
    return load_params(SECTION, BackboneParams, tier, params_file)


@dataclass(frozen=True)
class BackboneData:
    """Where each part of the backbone lives under one data folder."""

    root: Path

    @property
    def model(self) -> Path:
        return self.root / "model"

    @property
    def corpus(self) -> Path:
        return self.root / "corpus"

    @property
    def probing(self) -> Path:
        return self.root / "probing"

    @property
    def activations(self) -> Path:
        return self.root / "activations"

    @property
    def train_acts(self) -> Path:
        return self.activations / "train"

    @property
    def heldout_acts(self) -> Path:
        return self.activations / "heldout"

    def probe_acts(self, task: str) -> tuple[Path, Path]:
        return probe_acts_files(self.activations, task)

    def step_folder(self, step: str) -> Path:
        return getattr(self, STEP_FOLDERS[step])


def probe_acts_files(activations_dir: Path, task: str) -> tuple[Path, Path]:
    """The per-token activations and the lengths of a probing task's examples."""
    folder = activations_dir / "probing"
    return folder / f"{task}.npy", folder / f"{task}.lengths.npy"


def probe_tasks(data: BackboneData, names: Sequence[str]) -> list[ProbeTask]:
    """The probing tasks' examples with their cached per-token activations (memory-mapped)."""
    tasks = []
    for name in names:
        acts_file, lengths_file = data.probe_acts(name)
        if not acts_file.is_file():
            raise FileNotFoundError(f"no probing activations at {str(acts_file)!r}")
        examples = read_task(data.probing, name)
        tasks.append(
            ProbeTask.from_examples(
                name, examples, np.load(acts_file, mmap_mode="r"), np.load(lengths_file)
            )
        )
    return tasks


def load_backbone_model(params: BackboneParams, data: BackboneData) -> Any:
    """The TransformerLens model the backbone was built with."""
    return lm.load_model(params.model, model_dir=data.model)


def build_model(params: BackboneParams, data: BackboneData) -> None:
    if params.model == lm.OFFLINE_MODEL:
        lm.convert_offline_model(data.model)
        return
    lm.require_hub_access(params.model)  # the paper tier stops here, at its first step
    with atomic_directory(data.model) as tmp:  # hub models are loaded by name, not converted
        (tmp / HUB_MODEL_FILE).write_text(json.dumps({"model": params.model}) + "\n")


def _tokenizer(params: BackboneParams, data: BackboneData) -> Any:
    if params.model == lm.OFFLINE_MODEL:
        return lm.load_offline_hf(data.model)[1]
    return lm.load_model(params.model).tokenizer


def build_corpus_step(params: BackboneParams, data: BackboneData) -> None:
    build_corpus(params.corpus, repo_path(PACKAGE_DIR), data.corpus, _tokenizer(params, data))


def build_probing_step(params: BackboneParams, data: BackboneData) -> None:
    build_probing_sets(params.probing, repo_path(PACKAGE_DIR), data.probing, data.corpus)


def shuffled_texts(data: BackboneData, part: str, seed: int) -> list[str]:
    """The corpus part's documents in a seeded order (so each shard mixes every source)."""
    documents = read_documents(data.corpus, part)
    random.Random(f"{seed}:{part}").shuffle(documents)
    return [document.text for document in documents]


def build_activations(params: BackboneParams, data: BackboneData) -> None:
    model = load_backbone_model(params, data)
    body = params.context - 1
    with atomic_directory(data.activations) as tmp:
        for part, n_tokens in (("train", params.train_tokens), ("heldout", params.heldout_tokens)):
            n_windows = max(-(-n_tokens // body), params.ce_windows if part == "heldout" else 1)
            windows = token_windows(
                model.tokenizer, shuffled_texts(data, part, params.seed), params.context, n_windows
            )
            if len(windows) < n_windows:  # the corpus ran out: refuse rather than cache less
                raise ParamError(
                    f"backbone: {part}_tokens={n_tokens:,} needs {n_windows:,} windows of "
                    f"{params.context} tokens, but the corpus's {part} part holds "
                    f"{len(windows):,} ({len(windows) * body:,} tokens): lower {part}_tokens "
                    "or raise corpus.max_chars_per_source"
                )
            cache_activations(
                model,
                windows,
                params.layer,
                tmp / part,
                params.batch_size,
                provenance={"model": params.model, "corpus": list(params.corpus.sources)},
            )
        for task in params.probing.tasks:
            examples = read_task(data.probing, task)
            acts, lengths = example_activations(
                model,
                model.tokenizer,
                [e.text for e in examples],
                params.layer,
                params.probe_tokens,
                params.batch_size,
            )
            acts_file, lengths_file = probe_acts_files(tmp, task)
            acts_file.parent.mkdir(exist_ok=True)
            np.save(acts_file, acts)
            np.save(lengths_file, lengths)


STEP_FUNCTIONS = {
    "model": build_model,
    "corpus": build_corpus_step,
    "probing_data": build_probing_step,
    "activations": build_activations,
}


def step_record(step: str, params: BackboneParams) -> dict[str, Any]:
    """The params that decide what ``step`` builds, with those of the steps it reads (batch
    sizes change only speed and are left out)."""
    require(step in STEPS, "step", f"one of {', '.join(STEPS)}", step)
    corpus = {"model": params.model, **asdict(params.corpus)}  # the model's tokenizer counts
    probing = asdict(params.probing)
    if step == "model":
        return {"model": params.model}
    if step == "corpus":
        return corpus
    if step == "probing_data":  # texts in the corpus are left out of the tasks
        return {**probing, "corpus": corpus}
    return {
        "model": params.model,
        "layer": params.layer,
        "context": params.context,
        "probe_tokens": params.probe_tokens,
        "train_tokens": params.train_tokens,
        "heldout_tokens": params.heldout_tokens,
        "ce_windows": params.ce_windows,
        "seed": params.seed,
        "corpus": corpus,
        "probing": probing,
    }


def run_step(step: str, params: BackboneParams, data: BackboneData) -> None:
    """Build one step and record what it was built with, with a line to the terminal when it
    starts and when it is done."""
    require(step in STEPS, "step", f"one of {', '.join(STEPS)}", step)
    started = time.perf_counter()
    print(f"backbone {step}: building ({params.model}, layer {params.layer})", flush=True)
    STEP_FUNCTIONS[step](params, data)
    write_record(data.step_folder(step), step_record(step, params))
    print(f"backbone {step}: done in {time.perf_counter() - started:.0f} s", flush=True)


def stale_reasons(step: str, params: BackboneParams, data: BackboneData) -> list[str]:
    """Why ``step``'s folder under ``data`` cannot be used for ``params`` (empty: it can)."""
    folder = data.step_folder(step)
    if not folder.is_dir():
        return ["not built"]
    return differences(read_record(folder), step_record(step, params))


def prepare(params: BackboneParams, data_dir: str | Path) -> BackboneData:
    """Build, in order, every step whose folder under ``data_dir`` is missing or was built with
    other params (printing each parameter that differs); return the paths."""
    data = BackboneData(repo_path(data_dir))
    for step in STEPS:
        reasons = stale_reasons(step, params, data)
        if reasons:
            print(f"backbone {step}: rebuilding, {'; '.join(reasons)}", flush=True)
            run_step(step, params, data)
    return data


def open_stores(data: BackboneData) -> tuple[ActivationStore, ActivationStore]:
    """The train and held-out activation caches, both in the train cache's normalisation."""
    train = ActivationStore(data.train_acts)
    return train, ActivationStore(data.heldout_acts, scale=train.scale)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Build one step of the LLM backbone.")
    parser.add_argument("step", choices=STEPS)
    parser.add_argument("--tier", default=None, help="params tier (default: params.yaml's tier)")
    parser.add_argument("--data-dir", default="data/backbone")
    parser.add_argument("--params-file", default="params.yaml")
    args = parser.parse_args(argv)
    params = load(args.tier, args.params_file)
    run_step(args.step, params, BackboneData(repo_path(args.data_dir)))


if __name__ == "__main__":
    main()
