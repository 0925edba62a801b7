"""Typed, validating loading of ``params.yaml``: one section, one tier, into a dataclass.

Every section of ``params.yaml`` holds ``shared`` values and, per tier, only what differs; a
tier's values are the shared ones overridden by the tier's (nested mappings merge key by key).
A section whose schema has a ``recipe`` field starts that recipe from the top-level ``recipe``
section at the same tier. Every field is required: a section schema has no defaults. A bad value
fails at once with a :class:`ParamError` that names the parameter and what is allowed; numeric
bounds declared with :func:`bounded` are checked on the field itself.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

from saerepro.core.checks import ParamError, check_bounds, require
from saerepro.core.paths import repo_path

TIERS = ("smoke", "cpu", "paper")
DEFAULT_PARAMS = "params.yaml"

T = TypeVar("T")


def read_params_file(path: str | Path = DEFAULT_PARAMS) -> dict[str, Any]:
    """The raw contents of the params file (a mapping)."""
    file = repo_path(path)
    if not file.is_file():
        raise ParamError(f"params file {str(file)!r} does not exist")
    raw = yaml.safe_load(file.read_text())
    if not isinstance(raw, dict):
        raise ParamError(f"params file {str(file)!r} must hold a mapping of sections")
    return raw


SECTION_KEYS = ("shared", *TIERS)
RECIPE = "recipe"


def merged(base: Any, override: Any) -> Any:
    """``override`` on top of ``base``: mappings merge key by key, anything else is replaced."""
    if isinstance(base, Mapping) and isinstance(override, Mapping):
        out = dict(base)
        for key, value in override.items():
            out[key] = merged(base.get(key), value) if key in base else value
        return out
    return override if override is not None else base


def tier_values(raw: Mapping[str, Any], section: str, tier: str) -> dict[str, Any]:
    """``section``'s values at ``tier``: its shared values overridden by the tier's."""
    per_tier = raw[section]
    require(
        isinstance(per_tier, Mapping) and set(per_tier) <= set(SECTION_KEYS),
        section,
        f"a mapping with keys from {', '.join(SECTION_KEYS)}",
        sorted(per_tier) if isinstance(per_tier, Mapping) else per_tier,
    )
    for key in SECTION_KEYS:
        value = per_tier.get(key) or {}
        require(isinstance(value, Mapping), f"{section}.{key}", "a mapping of parameters", value)
    return merged(dict(per_tier.get("shared") or {}), dict(per_tier.get(tier) or {}))


def load_params(
    section: str, schema: type[T], tier: str | None = None, path: str | Path = DEFAULT_PARAMS
) -> T:
    """Load ``section`` at ``tier`` (default: the file's top-level ``tier``) into ``schema``."""
    raw = read_params_file(path)
    tier = raw.get("tier") if tier is None else tier
    require(tier in TIERS, "tier", f"one of {', '.join(TIERS)}", tier)
    sections = sorted(k for k, v in raw.items() if isinstance(v, dict) and k != RECIPE)
    require(section in sections, "section", f"one of {', '.join(sections)}", section)
    values = tier_values(raw, section, tier)
    if RECIPE in {f.name for f in dataclasses.fields(schema)}:  # type: ignore[arg-type]
        require(RECIPE in raw, RECIPE, "a top-level recipe section in the params file", None)
        values[RECIPE] = merged(tier_values(raw, RECIPE, tier), values.get(RECIPE) or {})
    return build_dataclass(schema, values, f"{section}.{tier}", strict=True)


def is_seed(name: str) -> bool:
    """A field named ``seed``, ``*_seed`` or ``*_seeds`` holds seeds (integers >= 0)."""
    return name == "seed" or name.endswith(("_seed", "_seeds"))


def build_dataclass(schema: type[T], values: Any, where: str, strict: bool = False) -> T:
    """Build ``schema`` from a mapping, checking names, types and bounds; errors name
    ``where.param``. ``strict``: every field is required, defaults or not (params.yaml states
    every value), and so are those of nested dataclasses."""
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
        and (
            strict
            or (f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
        )
    ]
    if missing:
        raise ParamError(f"{where}: missing required parameter(s) {missing}")
    hints = typing.get_type_hints(schema)
    kwargs = {
        name: _coerce(hints[name], value, f"{where}.{name}", strict)
        for name, value in values.items()
    }
    for name, value in kwargs.items():
        check_bounds(fields[name], value, f"{where}.{name}")
        if is_seed(name):
            seeds = value if isinstance(value, tuple) else (value,)
            require(
                all(isinstance(v, int) and v >= 0 for v in seeds),
                f"{where}.{name}",
                "seeds are integers >= 0",
                value,
            )
    try:
        return schema(**kwargs)
    except ParamError as err:
        raise ParamError(f"{where}: {err}") from None


def _coerce(hint: Any, value: Any, where: str, strict: bool = False) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        return build_dataclass(hint, value, where, strict)  # type: ignore[arg-type]
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _coerce(inner, value, where, strict)
    if origin in (tuple, list):
        if not isinstance(value, list | tuple):
            raise ParamError(f"{where}={value!r} is not allowed: a list is expected")
        return tuple(
            _coerce(args[0], item, f"{where}[{i}]", strict) for i, item in enumerate(value)
        )
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
            number = float(value)
        except (TypeError, ValueError):
            raise ParamError(f"{where}={value!r} is not allowed: a number is expected") from None
        if not math.isfinite(number):
            raise ParamError(f"{where}={value!r} is not allowed: a finite number is expected")
        return number
    if hint is str:
        if not isinstance(value, str):
            raise ParamError(f"{where}={value!r} is not allowed: a string is expected")
        return value
    raise TypeError(f"{where}: unsupported parameter type {hint!r}")  # a schema bug, not user input
