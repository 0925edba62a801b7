"""Run a section notebook with papermill, refusing parameters the notebook does not declare.

Papermill only warns about an unknown ``-p`` name (``-p teir cpu`` would run the notebook at its
default tier). This runner refuses it, naming the parameters the notebook's ``parameters`` cell
declares, then executes the notebook, its cell outputs (progress bars, a line per SAE) streamed
to the terminal as they come, and tidies the executed copy
(:mod:`saerepro.reporting.executed_notebook`).

``python -m saerepro.reporting.run_notebook NOTEBOOK OUTPUT -p NAME VALUE ...``

Run so, it dies with whoever started it (through the ``/bin/sh -c`` DVC runs commands with:
:func:`saerepro.core.lifetime.launchers`), its kernel dies with it (ipykernel watches its parent)
and the kernel's workers with the kernel (:mod:`saerepro.core.parallel`): a killed ``dvc repro``
leaves nothing running.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import papermill
from papermill.cli import _resolve_type

from saerepro.core.checks import ParamError
from saerepro.core.lifetime import die_with_parent, launchers
from saerepro.core.paths import repo_path
from saerepro.reporting.executed_notebook import tidy


def declared_parameters(notebook: str | Path) -> list[str]:
    """The names the notebook's ``parameters`` cell assigns."""
    return list(papermill.inspect_notebook(str(repo_path(notebook))))


def check_parameters(notebook: str | Path, parameters: dict[str, Any]) -> None:
    """Refuse any parameter ``notebook`` does not declare, naming the ones it does."""
    declared = declared_parameters(notebook)
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise ParamError(
            f"{Path(notebook).name} has no parameter(s) {unknown}; it takes {sorted(declared)}"
        )


def run(notebook: str | Path, output: str | Path, parameters: dict[str, Any]) -> Path:
    """Execute ``notebook`` into ``output`` with ``parameters`` (checked first), then tidy it."""
    check_parameters(notebook, parameters)
    out = repo_path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    papermill.execute_notebook(  # cell outputs reach the terminal as they come
        str(repo_path(notebook)),
        str(out),
        parameters=parameters,
        progress_bar=False,
        stdout_file=sys.stdout,
        stderr_file=sys.stderr,
    )
    return tidy(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook")
    parser.add_argument("output")
    parser.add_argument("-p", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"))
    args = parser.parse_args(argv)
    die_with_parent(watched=launchers())
    try:
        run(args.notebook, args.output, {name: _resolve_type(v) for name, v in args.p})
    except ParamError as err:
        raise SystemExit(f"error: {err}") from None


if __name__ == "__main__":
    main()
