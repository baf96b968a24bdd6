"""Equal as published: two values read from YAML that the JSON record writes the same."""

from __future__ import annotations

from typing import Any


def same_json(a: Any, b: Any) -> bool:
    """Python's `==` holds 1 == 1.0 == True and 0.0 == -0.0, and NaN differs from itself, yet
    `821` and `821.0`, `1` and `true`, or `0.0` and `-0.0` are different JSON, and NaN is
    written the same each time. So types must match, and floats compare by what is written."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(same_json, a, b))
    if isinstance(a, float):
        return repr(a) == repr(b)  # json writes a float as its repr
    return bool(a == b)
