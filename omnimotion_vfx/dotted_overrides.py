"""Dotted overrides of dataclass configs ({"trainer.steps": 500}), shared by the engine and the fusion configs.

Overrides arrive as JSON (OMNIVFX_ENGINE_OVERRIDES, job specs): each value is checked against the setting's own
type here, so a typo or a string where a number belongs is one clear InputError before any flow or fitting.
"""

from __future__ import annotations

import copy
import json
from typing import Any, TypeVar

from .errors import InputError

Config = TypeVar("Config")


def apply_overrides(config: Config, overrides: dict[str, Any], kind: str, prefix: str = "") -> Config:
    """A copy of `config` with each dotted key set; `kind` ("engine", "fusion") and `prefix` (how the user spells
    the keys' common start, e.g. "fusion.") only shape the error messages. Unknown keys are an InputError."""
    out = copy.deepcopy(config)
    for key, value in overrides.items():
        target: Any = out
        parts = key.split(".")
        for part in parts[:-1]:
            target = getattr(target, part, None)
        if target is None or not hasattr(target, parts[-1]):
            raise InputError(f"unknown {kind} setting {prefix + key!r}; see docs/engine.md for the config fields")
        setattr(target, parts[-1], _as_type_of(f"{kind} setting {prefix + key!r}", getattr(target, parts[-1]), value))
    return out


def _as_type_of(label: str, current: Any, value: Any) -> Any:
    """An override value of the setting's own type (JSON gives ints for whole floats): a string where a
    number belongs would otherwise fail deep inside the fit."""
    kind = type(current)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is tuple and isinstance(value, list):
        value = tuple(value)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        wanted = {int: "a whole number", float: "a number", bool: "true or false", str: "text", tuple: "a list"}.get(kind, kind.__name__)
        raise InputError(f"{label} takes {wanted} (like {json.dumps(current, default=repr)}), "
                         f"got {json.dumps(value, default=repr)}")
    return value

