"""The stage registry: every DVC stage of the replication, from which ``dvc.yaml`` is written.

``python -m saerepro.pipeline`` writes ``dvc.yaml``; ``--check`` exits non-zero when the file is
not what the registry gives (``tests/test_repo.py`` runs it). A stage's library dependencies are
never listed by hand: they are the import closure of its notebook or module. Its params are the
sections it reads, each tracked as ``<section>.shared`` plus ``<section>.${tier}``, so editing
one tier's value leaves the other tiers' results up to date.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from saerepro.core.atomic import atomic_write_text
from saerepro.core.checks import require
from saerepro.core.folders import BACKBONE, FAMILY, stage_folders
from saerepro.core.params import TIERS
from saerepro.core.paths import REPO_ROOT, repo_path

PIPELINE_FILE = "dvc.yaml"
RUNNER = "saerepro.reporting.run_notebook"  # runs every notebook stage
HEADER = """\
# Written by `python -m saerepro.pipeline` from the stage registry in lib/saerepro/pipeline.py;
# do not edit (a test fails when this file and the registry disagree).
# `tier` (params.yaml) picks the parameter column; `dvc exp run -S tier=paper` switches.
"""


@dataclass(frozen=True)
class Plot:
    """A headline figure for ``dvc plots show``: ``y`` columns of ``file`` against ``x``."""

    title: str
    file: str
    x: str
    y: tuple[str, ...]
    template: str = "linear"

    def entry(self) -> dict[str, Any]:
        return {
            self.title: {"template": self.template, "x": self.x, "y": {self.file: list(self.y)}}
        }


@dataclass(frozen=True)
class Stage:
    """One DVC stage: its command, what it reads and what it writes."""

    name: str
    cmd: str
    entry: str  # a notebook path or a module name: its import closure is the stage's code
    sections: tuple[str, ...] = ()  # params.yaml sections it reads
    deps: tuple[str, ...] = ()  # data it reads (other stages' outputs)
    outs: tuple[str, ...] = ()  # data it writes (DVC cache)
    results: tuple[str, ...] = ()  # files it writes into results/ (in git, not cached)
    metrics: tuple[str, ...] = ()
    plots: tuple[Plot, ...] = field(default=(), compare=False)

    def code_files(self) -> list[str]:
        """The library files (and the notebook) the stage runs; a notebook stage also runs the
        notebook runner."""
        if self.entry.endswith(".ipynb"):
            code = library_files_behind(notebook_source(self.entry)) | module_closure(RUNNER)
            return [self.entry, *sorted(code)]
        return sorted(module_closure(self.entry))

    def as_dvc(self) -> dict[str, Any]:
        stage: dict[str, Any] = {"cmd": self.cmd, "deps": [*self.code_files(), *self.deps]}
        params = ["tier"]
        for section in self.sections:
            params += [f"{section}.shared", f"{section}.${{tier}}"]
        if self.sections:
            stage["params"] = params
        outs: list[Any] = list(self.outs)
        outs += [{path: {"cache": False}} for path in self.results]
        if outs:
            stage["outs"] = outs
        if self.metrics:
            stage["metrics"] = [{path: {"cache": False}} for path in self.metrics]
        return stage


def notebook_stage(
    name: str,
    notebook: str,
    sections: Iterable[str],
    deps: Iterable[str] = (),
    outs: Iterable[str] = (),
    results: Iterable[str] = (),
    plots: Iterable[Plot] = (),
) -> Stage:
    """A section notebook run by papermill into ``results/<name>/`` at ``${tier}``, its
    parameters checked and its executed copy tidied (:mod:`saerepro.reporting.run_notebook`);
    its folder parameters (``results_dir``, ``data_dir``, ...) are passed as
    :func:`saerepro.core.folders.stage_folders` names them."""
    out_dir = f"results/{name}"
    args = ["-p tier ${tier}"]
    args += [f"-p {param} {path}" for param, path in stage_folders(name).items()]
    executed = f"{out_dir}/{Path(notebook).name}"
    cmd = f"python -m saerepro.reporting.run_notebook {notebook} {executed} " + " ".join(args)
    plots = tuple(plots)
    files = [executed, f"{out_dir}/figures", f"{out_dir}/details.json", *results]
    files += sorted({p.file for p in plots} - set(files))
    return Stage(
        name,
        cmd,
        notebook,
        tuple(sections),
        tuple(deps),
        tuple(outs),
        tuple(files),
        (f"{out_dir}/metrics.json",),
        plots,
    )


def backbone_step(step: str, sections: tuple[str, ...], deps: Iterable[str] = ()) -> Stage:
    """One step of the backbone build (``python -m saerepro.data.backbone STEP``)."""
    return Stage(
        step,
        f"python -m saerepro.data.backbone {step} --tier ${{tier}} --data-dir {BACKBONE}",
        "saerepro.data.backbone",
        sections,
        tuple(deps),
        (f"{BACKBONE}/{'probing' if step == 'probing_data' else step}",),
    )


def backbone_data(*names: str) -> tuple[str, ...]:
    return tuple(f"{BACKBONE}/{n}" for n in names)


def claims(name: str) -> str:
    return f"results/{name}/claims.json"


SECTION_NAMES = (
    "toy_l0",
    "l0_dynamics",
    "llm_l0_sweep",
    "batchtopk",
    "stitching",
    "meta_sae",
    "bimodality",
)


def stages() -> list[Stage]:
    """Every stage, in pipeline order."""
    return [
        backbone_step("model", ("backbone",)),
        backbone_step("corpus", ("backbone",), backbone_data("model")),
        backbone_step("probing_data", ("backbone",), backbone_data("corpus")),
        backbone_step("activations", ("backbone",), backbone_data("model", "corpus", "probing")),
        notebook_stage(
            "backbone",
            "notebooks/00_model_and_data.ipynb",
            ("backbone",),
            deps=backbone_data("model", "corpus", "probing", "activations"),
            results=(
                "results/backbone/corpus_composition.csv",
                "results/backbone/resid_norms.csv",
                "results/backbone/dense_probes.csv",
            ),
        ),
        notebook_stage(
            "toy_l0",
            "notebooks/01_toy_l0.ipynb",
            ("toy_l0",),
            outs=("data/toy_l0/checkpoints",),
            results=(claims("toy_l0"), "results/toy_l0/evaluation.csv"),
            plots=(
                Plot(
                    "toy_l0: s_n^dec against L0 (SBW Fig. 2)",
                    "results/toy_l0/sweep.csv",
                    "k",
                    ("s_n=12", "s_n=18", "s_n=20", "s_n=22"),
                ),
                Plot(
                    "toy_l0: variance explained against L0 (SBW Fig. 6)",
                    "results/toy_l0/sweep.csv",
                    "k",
                    ("explained_variance", "explained_variance_ground_truth"),
                ),
                Plot(
                    "toy_l0: training MSE against step",
                    "results/toy_l0/loss_curves.csv",
                    "step",
                    ("mse_loss",),
                    "scatter",
                ),
            ),
        ),
        notebook_stage(
            "l0_dynamics",
            "notebooks/02_l0_dynamics.ipynb",
            ("l0_dynamics",),
            outs=("data/l0_dynamics/checkpoints",),
            results=(
                claims("l0_dynamics"),
                "results/l0_dynamics/evaluation.csv",
                "results/l0_dynamics/open_source_sae_l0s.csv",
                "results/l0_dynamics/settling_finder_runs.csv",
            ),
            plots=(
                Plot(
                    "l0_dynamics: L0 during training (SBW Fig. 8)",
                    "results/l0_dynamics/l0_trajectories.csv",
                    "step",
                    ("l0",),
                    "scatter",
                ),
                Plot(
                    "l0_dynamics: the automatic finder's L0 (SBW A.4)",
                    "results/l0_dynamics/finder_history.csv",
                    "step",
                    ("l0",),
                    "scatter",
                ),
                Plot(
                    "l0_dynamics: our settling finder's working L0",
                    "results/l0_dynamics/settling_finder_history.csv",
                    "step",
                    ("l0",),
                    "scatter",
                ),
            ),
        ),
        notebook_stage(
            "llm_l0_sweep",
            "notebooks/03_llm_l0_sweep.ipynb",
            ("recipe", "backbone", "llm_l0_sweep"),
            deps=backbone_data("model", "probing", "activations"),
            outs=("data/llm_l0_sweep/checkpoints",),
            results=(
                claims("llm_l0_sweep"),
                "results/llm_l0_sweep/probes.csv",
                "results/llm_l0_sweep/probe_predictions.csv.gz",
            ),
            plots=(
                Plot(
                    "llm_l0_sweep: s_n^dec against k (SBW Fig. 3)",
                    "results/llm_l0_sweep/sweep.csv",
                    "k",
                    ("s_n=512", "s_n=1024", "s_n=2048"),  # the cpu tier's N
                ),
                Plot(
                    "llm_l0_sweep: sparse-probing F1 against k (SBW Fig. 4)",
                    "results/llm_l0_sweep/sweep.csv",
                    "k",
                    ("probe_f1_k=1", "probe_f1_k=16"),
                ),
                Plot(
                    "llm_l0_sweep: NMSE and CE loss recovered against k",
                    "results/llm_l0_sweep/sweep.csv",
                    "k",
                    ("nmse", "ce_loss_recovered"),
                ),
                Plot(
                    "llm_l0_sweep: training MSE against step",
                    "results/llm_l0_sweep/loss_curves.csv",
                    "step",
                    ("mse_loss",),
                    "scatter",
                ),
            ),
        ),
        notebook_stage(
            "batchtopk",
            "notebooks/04_batchtopk.ipynb",
            ("recipe", "backbone", "batchtopk"),
            deps=backbone_data("model", "activations"),
            outs=(FAMILY, "data/batchtopk/checkpoints"),
            results=(
                claims("batchtopk"),
                "results/batchtopk/comparison.csv",
                "results/batchtopk/theta.csv",
            ),
            plots=(
                Plot(
                    "batchtopk: NMSE against L0, every SAE (CU Fig. 7-8)",
                    "results/batchtopk/comparison.csv",
                    "l0",
                    ("nmse",),
                    "scatter",
                ),
                Plot(
                    "batchtopk: active latents per token (CU Fig. 9)",
                    "results/batchtopk/active_latents.csv",
                    "active_latents",
                    ("count",),
                    "bar_horizontal",
                ),
            ),
        ),
        notebook_stage(
            "stitching",
            "notebooks/05_stitching.ipynb",
            ("backbone", "stitching"),
            deps=(FAMILY, *backbone_data("model", "activations")),
            results=(
                claims("stitching"),
                "results/stitching/pairs.csv",
                "results/stitching/swaps.csv",
                "results/stitching/mse_where_novel.csv",
            ),
            plots=(
                Plot(
                    "stitching: MSE change of one inserted latent against its max cosine "
                    "(CU Fig. 4)",
                    "results/stitching/insertions.csv",
                    "max_cosine",
                    ("delta_mse",),
                    "scatter",
                ),
            ),
        ),
        notebook_stage(
            "meta_sae",
            "notebooks/06_meta_sae.ipynb",
            ("recipe", "backbone", "batchtopk", "meta_sae"),
            deps=(FAMILY, *backbone_data("model", "activations")),
            outs=("data/meta_sae",),
            results=(claims("meta_sae"), "results/meta_sae/fig6_matches.csv"),
            plots=(
                Plot(
                    "meta_sae: mean max cosine of meta-latents to an SAE of each width (CU Fig. 6)",
                    "results/meta_sae/fig6_matches.csv",
                    "width",
                    ("mean_max_cosine", "median_max_cosine"),
                ),
                Plot(
                    "meta_sae: meta-latents per latent",
                    "results/meta_sae/meta_latents_per_latent.csv",
                    "meta_latents",
                    ("count",),
                    "bar_horizontal",
                ),
            ),
        ),
        notebook_stage(
            "bimodality",
            "notebooks/07_bimodality.ipynb",
            ("recipe", "backbone", "batchtopk", "toy_l0", "bimodality"),
            deps=(FAMILY, "data/batchtopk/checkpoints", *backbone_data("model", "activations")),
            outs=("data/bimodality",),
            results=(
                claims("bimodality"),
                "results/bimodality/alignment_stats.csv",
                "results/bimodality/toy_alignment.csv",
            ),
            plots=(
                Plot(
                    "bimodality: explained variance against L0, standard and aligned (BIM Fig. 4)",
                    "results/bimodality/standard_vs_aligned.csv",
                    "l0",
                    ("explained_variance",),
                    "scatter",
                ),
                Plot(
                    "bimodality: dead fraction against L0 (BIM Fig. 5)",
                    "results/bimodality/standard_vs_aligned.csv",
                    "l0",
                    ("dead_fraction",),
                    "scatter",
                ),
            ),
        ),
        Stage(
            "report",
            "python -m saerepro.reporting.report --results results",
            "saerepro.reporting.report",
            deps=(
                "results/backbone/metrics.json",
                *(claims(n) for n in SECTION_NAMES),
            ),
            results=("results/REPORT.md",),
        ),
    ]


def pipeline() -> dict[str, Any]:
    """``dvc.yaml`` as a mapping."""
    registry = stages()
    return {
        "stages": {s.name: s.as_dvc() for s in registry},
        "plots": [p.entry() for s in registry for p in s.plots],
    }


def render() -> str:
    return HEADER + yaml.safe_dump(pipeline(), sort_keys=False, width=100)


# --- the import closure of a notebook or module --------------------------------------------


def notebook_source(notebook: str | Path) -> str:
    """The code cells of ``notebook``, joined."""
    cells = json.loads(repo_path(notebook).read_text())["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


def saerepro_imports(source: str) -> set[str]:
    """Modules ``saerepro.x`` named by import statements in ``source``."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("saerepro"):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("saerepro"))
    return found


def module_file(module: str) -> Path | None:
    """The file of ``module`` under lib/ (a module or a package), if there is one."""
    base = REPO_ROOT / "lib" / Path(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def module_closure(module: str) -> set[str]:
    """``module``'s own file and every library file it imports."""
    own = module_file(module)
    if own is None:
        raise ValueError(f"no library module {module}")
    return {str(own.relative_to(REPO_ROOT))} | library_files_behind(own.read_text())


def library_files_behind(source: str) -> set[str]:
    """Every library file ``source`` imports, directly or through other library modules
    (package ``__init__`` files, all empty, left out)."""
    todo, files = list(saerepro_imports(source)), set()
    while todo:
        path = module_file(todo.pop())
        if path is None or path.name == "__init__.py" or str(path) in files:
            continue
        files.add(str(path))
        todo.extend(saerepro_imports(path.read_text()))
    return {str(Path(f).relative_to(REPO_ROOT)) for f in files}


# --- running the pipeline outside DVC, into build/<tier> ------------------------------------


def localised(cmd: str, tier: str, root: str) -> str:
    """``cmd`` at ``tier`` with its ``data/`` and ``results/`` paths moved under ``root``."""
    cmd = cmd.replace("${tier}", tier)
    pattern = r"(?<=[\s=])(data|results)(?=[/\s]|$)"
    return re.sub(pattern, lambda m: f"{root}/{m.group(1)}", cmd)


def run_all(tier: str, root: str | None = None, dry_run: bool = False) -> list[str]:
    """Run every stage at ``tier`` into ``root`` (default ``build/<tier>``), in pipeline order,
    printing a line per stage with its elapsed time; ``results/`` and README.md stay as they
    are (the report leaves the README alone off the cpu tier). Returns the commands."""
    require(tier in TIERS, "tier", f"one of {', '.join(TIERS)}", tier)
    root = root or f"build/{tier}"
    commands = [localised(s.cmd, tier, root) for s in stages()]
    started = time.perf_counter()
    for i, (stage, cmd) in enumerate(zip(stages(), commands, strict=True), 1):
        print(f"[{i}/{len(commands)}] {stage.name}: {cmd}", flush=True)
        if dry_run:
            continue
        subprocess.run(cmd, shell=True, check=True, cwd=REPO_ROOT)
        print(
            f"[{i}/{len(commands)}] {stage.name} done, {time.perf_counter() - started:.0f} s",
            flush=True,
        )
    return commands


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if dvc.yaml is not current")
    parser.add_argument("--run", metavar="TIER", help="run every stage at TIER into build/TIER")
    parser.add_argument("--dry-run", action="store_true", help="with --run: print, run nothing")
    args = parser.parse_args(argv)
    if args.run:
        run_all(args.run, dry_run=args.dry_run)
        return 0
    text, target = render(), repo_path(PIPELINE_FILE)
    if args.check:
        if not target.is_file() or target.read_text() != text:
            print(f"{PIPELINE_FILE} is stale: run `python -m saerepro.pipeline`", file=sys.stderr)
            return 1
        return 0
    atomic_write_text(target, text)
    print(f"wrote {PIPELINE_FILE}: {len(stages())} stages")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
