"""Where things live: every relative path in params and notebooks is taken from the repo root."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]


def repo_path(path: str | Path) -> Path:
    """Resolve ``path`` against the repository root (absolute paths pass through)."""
    path = Path(path)
    return path if path.is_absolute() else REPO_ROOT / path
