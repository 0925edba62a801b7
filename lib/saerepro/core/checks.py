"""The one way a bad parameter is refused: :class:`ParamError`, raised by :func:`require`.

Science modules check their inputs with :func:`require`; they never need the YAML loader.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any


class ParamError(ValueError):
    """A parameter is missing, unknown, or has a value outside what is allowed."""


def require(condition: bool, param: str, allowed: str, value: Any) -> None:
    """Raise :class:`ParamError` naming ``param`` and ``allowed`` unless ``condition`` holds."""
    if not condition:
        raise ParamError(f"{param}={value!r} is not allowed: {allowed}")


def bounded(
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    default: Any = dataclasses.MISSING,
) -> Any:
    """A dataclass field whose numeric value (or each list item) must be finite and lie within
    the bounds (with a ``default`` where given)."""
    return dataclasses.field(default=default, metadata={"bounds": (ge, gt, le, lt)})


def check_bounds(field: dataclasses.Field, value: Any, where: str) -> None:
    """Refuse ``value`` (a number or a list of numbers) outside ``field``'s declared bounds."""
    if "bounds" not in field.metadata:
        return
    ge, gt, le, lt = field.metadata["bounds"]
    parts = [f">= {ge}" if ge is not None else "", f"> {gt}" if gt is not None else ""]
    parts += [f"<= {le}" if le is not None else "", f"< {lt}" if lt is not None else ""]
    allowed = " and ".join(p for p in parts if p)
    for item in value if isinstance(value, tuple) else (value,):
        ok = math.isfinite(item) and (ge is None or item >= ge) and (gt is None or item > gt)
        ok = ok and (le is None or item <= le) and (lt is None or item < lt)
        require(ok, where, allowed, value)


def validate_bounds(instance: Any, prefix: str = "") -> None:
    """Check every :func:`bounded` field of a dataclass instance (for direct construction);
    errors name the parameter as ``prefix.field``."""
    for field in dataclasses.fields(instance):
        name = f"{prefix}.{field.name}" if prefix else field.name
        check_bounds(field, getattr(instance, field.name), name)
