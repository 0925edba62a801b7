"""The command line the on-demand toy studies share (``studies/*.py``)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def study_arguments(doc: str, argv: Sequence[str] | None = None) -> argparse.Namespace:
    """``--smoke`` (tiny sizes, seconds), ``--out`` (results folder) and ``--workers``; the
    description is the first line of the study's docstring ``doc``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (seconds)")
    parser.add_argument("--out", default="results/studies", help="results folder")
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    return parser.parse_args(argv)
