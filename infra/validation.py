"""pydantic validation errors in words a person reads: one phrase per error, with what was given.

Stack settings (``infra/config.py``) and project manifests (``infra/projects/manifest.py``) both
validate with pydantic and both report one line naming the file and key; this is the phrase
after the key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

_COMPARISONS = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=",
                "less_than": "<"}
_TYPES = {
    ("dict_type", "model_type", "model_attributes_type"): "a mapping",
    ("list_type",): "a list",
    ("string_type",): "a string",
    ("int_parsing", "int_type", "int_from_float"): "a whole number",
    ("float_parsing", "float_type"): "a number",
    ("bool_parsing", "bool_type"): "true or false",
}


def describe(error: Mapping[str, Any], *, noun: str = "key",
             patterns: Mapping[str, str] | None = None) -> str:
    """The problem of one ``ValidationError.errors()`` entry.

    ``noun`` names what the file holds ("setting", "key"); ``patterns`` maps a regex to a plain
    description of what it accepts, so people do not read regexes. A ``ValueError`` raised by a
    validator with a ``problem`` attribute is reported by that text.
    """
    kind = error["type"]
    ctx = error.get("ctx") or {}
    got = error.get("input")
    shown = json.dumps(got) if isinstance(got, (int, float, bool, str, type(None))) else repr(got)
    if kind == "missing":
        return f"required {noun} is missing"
    if kind == "extra_forbidden":
        return f"unknown {noun}"
    if kind in _COMPARISONS:
        return f"must be {_COMPARISONS[kind]} {next(iter(ctx.values()))} (got {shown})"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')} (got {shown})"
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern"))
        return f"{(patterns or {}).get(pattern, f'does not match {pattern}')} (got {shown})"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters (got {len(str(got))})"
    if kind == "too_short":
        least = ctx.get("min_length")
        return "must not be empty" if least == 1 else f"needs at least {least} item(s)"
    for kinds, expected in _TYPES.items():
        if kind in kinds:
            return f"must be {expected} (got {shown})"
    if kind == "value_error":
        original = ctx.get("error")
        return getattr(original, "problem", None) or str(original)
    return str(error["msg"])
