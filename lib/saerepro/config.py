"""Typed, validating loading of ``params.yaml``: one section, one tier, into a dataclass.

Every section of ``params.yaml`` maps tier names to values. A bad value fails at once with a
:class:`ParamError` that names the parameter and what is allowed.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

from saerepro.paths import repo_path

TIERS = ("smoke", "cpu", "paper")
DEFAULT_PARAMS = "params.yaml"

T = TypeVar("T")


class ParamError(ValueError):
    """A parameter is missing, unknown, or has a value outside what is allowed."""


def require(condition: bool, param: str, allowed: str, value: Any) -> None:
    """Raise :class:`ParamError` naming ``param`` and ``allowed`` unless ``condition`` holds."""
    if not condition:
        raise ParamError(f"{param}={value!r} is not allowed: {allowed}")


def read_params_file(path: str | Path = DEFAULT_PARAMS) -> dict[str, Any]:
    """The raw contents of the params file (a mapping)."""
    file = repo_path(path)
    if not file.is_file():
        raise ParamError(f"params file {str(file)!r} does not exist")
    raw = yaml.safe_load(file.read_text())
    if not isinstance(raw, dict):
        raise ParamError(f"params file {str(file)!r} must hold a mapping of sections")
    return raw


def load_params(
    section: str, schema: type[T], tier: str | None = None, path: str | Path = DEFAULT_PARAMS
) -> T:
    """Load ``section`` at ``tier`` (default: the file's top-level ``tier``) into ``schema``."""
    raw = read_params_file(path)
    tier = raw.get("tier") if tier is None else tier
    require(tier in TIERS, "tier", f"one of {', '.join(TIERS)}", tier)
    sections = sorted(k for k, v in raw.items() if isinstance(v, dict))
    require(section in sections, "section", f"one of {', '.join(sections)}", section)
    per_tier = raw[section]
    require(tier in per_tier, f"{section}.tier", f"one of {', '.join(per_tier)}", tier)
    return build_dataclass(schema, per_tier[tier], f"{section}.{tier}")


def build_dataclass(schema: type[T], values: Any, where: str) -> T:
    """Build ``schema`` from a mapping, checking names and types; errors name ``where.param``."""
    if not isinstance(values, Mapping):
        raise ParamError(f"{where} must be a mapping of parameters, got {values!r}")
    fields = {f.name: f for f in dataclasses.fields(schema)}  # type: ignore[arg-type]
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ParamError(f"{where}: unknown parameter(s) {unknown}; allowed: {sorted(fields)}")
    missing = [
        name
        for name, f in fields.items()
        if name not in values
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ParamError(f"{where}: missing required parameter(s) {missing}")
    hints = typing.get_type_hints(schema)
    kwargs = {
        name: _coerce(hints[name], value, f"{where}.{name}") for name, value in values.items()
    }
    try:
        return schema(**kwargs)
    except ParamError as err:
        raise ParamError(f"{where}: {err}") from None


def _coerce(hint: Any, value: Any, where: str) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        return build_dataclass(hint, value, where)  # type: ignore[arg-type]
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _coerce(inner, value, where)
    if origin in (tuple, list):
        if not isinstance(value, list | tuple):
            raise ParamError(f"{where}={value!r} is not allowed: a list is expected")
        return tuple(_coerce(args[0], item, f"{where}[{i}]") for i, item in enumerate(value))
    if hint is bool:
        if not isinstance(value, bool):
            raise ParamError(f"{where}={value!r} is not allowed: true or false is expected")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParamError(f"{where}={value!r} is not allowed: an integer is expected")
        return value
    if hint is float:
        try:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        except (TypeError, ValueError):
            raise ParamError(f"{where}={value!r} is not allowed: a number is expected") from None
    if hint is str:
        if not isinstance(value, str):
            raise ParamError(f"{where}={value!r} is not allowed: a string is expected")
        return value
    raise TypeError(f"{where}: unsupported parameter type {hint!r}")  # a schema bug, not user input
