"""Decoded JSON whose strings are shared: a build holds every version's validation result and
every event of the log at once (100,000 of each in a large registry), and each decoded document
brings its own copy of the same keys and values ("sha256", "float32", the model's name, and the
manifest again in the event that published it). Interned, equal strings are one object."""

from __future__ import annotations

import sys
from typing import Any


def interned(value: Any) -> Any:
    """`value` (plain JSON: dicts, lists, strings, numbers) with new dicts and lists whose
    strings, keys included, are interned; numbers and None as they are. Recursive: what it is
    given nests a manifest, which the YAML loader caps at 64 levels (yamlsafe.tree.MAX_DEPTH)."""
    kind = type(value)
    if kind is str:
        return sys.intern(value)
    if kind is dict:
        return {sys.intern(k): interned(v) for k, v in value.items()}
    if kind is list:
        return [interned(v) for v in value]
    return value
