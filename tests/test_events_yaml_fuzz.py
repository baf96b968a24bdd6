"""The YAML fast path against the safe loader on mutated manifests: real manifests changed a
character, a line or a structure at a time by hypothesis, read through one cache shared by every
example (as a history is read), must give exactly the data the loader gives, or None where it
refuses the document."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.load.yamlsafe import load_yaml_bytes
from registry.load.yamlsafe.fast import EntryCache, load_yaml_data
from tests.factories.manifests import dump_manifest, manifest_data
from tests.factories.registries import NMP

# Manifests as modelreg writes them, and as people write them by hand.
WRITTEN = dump_manifest(manifest_data(NMP, "fuzz", "1.2.3"))
BY_HAND = """\
# A manifest written by hand.
schema_version: "1.1"
model_name: model-7
version: "1.0.3"
framework: {name: onnx, version: "1.17.0"}
format: onnx
artifact: {path: model.onnx, sha256: "00ab", size: 821}
input_shape:
  - name: x
    dtype: float32
    shape: [batch, 4]
output_schema: [{name: y, dtype: float32, shape: [batch, 3]}]
license: Apache-2.0
intended_use: >
  Folded text
  over lines.

description: |
  Literal text.
    Indented more.
tags: [a, 'b', "c"]   # a comment
publisher:
  name: bench
risk_tier: tier-1
"""
BASES = [WRITTEN, BY_HAND]

# What can trip a YAML reader: indicators, quotes, breaks, escapes, invisible characters.
ODD = [
    *" \t\n\r:-?,[]{}#&*!|>'\"%@`~.0123456789eExyz_\\",
    "\ufeff",
    "\x85",
    "\u2028",
    "\u2029",
    "\u200b",
    "\u202e",
    "\x00",
    "\x1b",
    "é",
    "<<",
    "---",
    "...",
    "&a ",
    "*a",
    "!!str ",
    "!t ",
    "? ",
    ": ",
    "- ",
    "\n- ",
    "\n  ",
    "\n\t",
    "\r\n",
    "yes",
    "0o17",
    "1_000",
    "2024-01-01",
    ".inf",
    "\\u0000",
]
SHARED = EntryCache()  # one cache for every example: entries read before come from memory


def full(raw: bytes) -> dict[str, Any] | None:
    loaded, _ = load_yaml_bytes(raw, "m.yaml")
    return loaded.data if loaded is not None else None


def same_reading(raw: bytes) -> None:
    expected = full(raw)
    for cache in (SHARED, EntryCache()):
        for shared in (False, True):
            got = load_yaml_data(raw, cache=cache, shared=shared)
            # Types too (1 == 1.0 == True in Python): compare the JSON text.
            assert json.dumps(got, sort_keys=True) == json.dumps(expected, sort_keys=True), raw


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A manifest with a few edits: text put in, taken out, lines moved, copied, indented."""
    text = draw(st.sampled_from(BASES))
    for _ in range(draw(st.integers(1, 4))):
        lines = text.split("\n")
        at = draw(st.integers(0, len(text)))
        line = draw(st.integers(0, len(lines) - 1))
        edit = draw(st.sampled_from(["insert", "delete", "copy", "move", "indent", "dedent"]))
        if edit == "insert":
            text = text[:at] + draw(st.sampled_from(ODD)) + text[at:]
        elif edit == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 12)) :]
        elif edit == "copy":
            lines.insert(draw(st.integers(0, len(lines))), lines[line])
            text = "\n".join(lines)
        elif edit == "move":
            moved = lines.pop(line)
            lines.insert(draw(st.integers(0, len(lines))), moved)
            text = "\n".join(lines)
        elif edit == "indent":
            lines[line] = draw(st.sampled_from([" ", "  ", "\t", "- "])) + lines[line]
            text = "\n".join(lines)
        else:
            lines[line] = lines[line].lstrip(" ")
            text = "\n".join(lines)
    return text


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_manifests_read_alike(text: str) -> None:
    same_reading(text.encode("utf-8"))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(), st.binary(max_size=3), st.integers(0, 2000))
def test_mutated_bytes_read_alike(text: str, noise: bytes, at: int) -> None:
    """Bytes that are not UTF-8, or a BOM or a break cut in two, anywhere."""
    raw = text.encode("utf-8")
    at = min(at, len(raw))
    same_reading(raw[:at] + noise + raw[at:])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutated(), min_size=2, max_size=6))
def test_a_history_of_edits_reads_alike(texts: list[str]) -> None:
    """Each version of a manifest read after the others through one cache (as derive does)."""
    cache = EntryCache()
    for text in texts:
        raw = text.encode("utf-8")
        assert load_yaml_data(raw, cache=cache, shared=True) == full(raw), raw


def test_the_bases_take_the_fast_path() -> None:
    """The corpus is worth fuzzing around: both bases are read by entries, not whole."""
    for text in BASES:
        cache = EntryCache()
        assert load_yaml_data(text.encode(), cache=cache) == full(text.encode()) is not None
        assert cache.pieces or cache.lines
