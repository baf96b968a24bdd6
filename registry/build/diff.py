"""What changed between two versions of a model, computed from their two version records alone
(plain JSON: as the build renders them, or as a client fetched them). The site's diff.json and
`modelreg diff` both come from `version_diff`, so that they cannot disagree; `describe` says a
diff in words for the version page and the command's text output."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from registry.build import paths
from registry.formats.interface import (
    BUMPS,
    interface_changes,
    next_release,
    release_bump,
    required_bump,
)
from registry.load.manifest import measured_names, plain_datasets
from registry.load.manifest_fields import implied_role
from registry.tensors import TensorSpec
from registry.versions import core

API_VERSION = "1"  # of the JSON API, as every sibling document states it

# What a diff compares, in the order `changed` lists them.
ASPECTS = (
    "interface",
    "format",
    "opsets",
    "operators",
    "parameters",
    "size",
    "quantization",
    "license",
    "risk_tier",
    "datasets",
    "governance",
)


@dataclass(frozen=True, slots=True)
class _Side:
    """What a diff reads of one version record (and nothing else of it)."""

    id: str
    name: str
    version: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    format: str
    opsets: Mapping[str, int]
    operators: frozenset[str]
    parameters: int | None
    size: int
    quantization: Mapping[str, str | None]
    license: str
    risk_tier: str
    datasets: frozenset[tuple[str, str]]
    decision: str

    @classmethod
    def of(cls, record: Mapping[str, Any]) -> _Side:
        manifest = record["manifest"]
        info = record.get("model_info") or {}
        artifact = record["artifact"]
        profile = manifest.get("quantization_profile") or {}
        measured = measured_names(manifest)
        return cls(
            id=record["id"],
            name=record["name"],
            version=record["version"],
            # The declared interface: the contract, present for every format (validation has
            # checked it against the file; TorchScript files do not state dtypes).
            inputs=tuple(TensorSpec.from_data(t) for t in manifest["input_shape"]),
            outputs=tuple(TensorSpec.from_data(t) for t in manifest["output_schema"]),
            format=manifest["format"],
            opsets=dict(info.get("opsets", {})),
            operators=frozenset(info.get("operators", ())),
            parameters=info.get("parameter_count"),
            size=artifact["size"] + sum(e["size"] for e in artifact["external_data"]),
            quantization={
                "detected": info.get("quantization"),
                "method": profile.get("method"),
            },
            license=manifest["license"],
            risk_tier=manifest["risk_tier"],
            datasets=frozenset(
                (d["name"], d.get("role") or implied_role(d["name"], measured))
                for d in plain_datasets(manifest)
                if isinstance(d.get("name"), str)
            ),
            decision=record["governance"]["decision"],
        )


def version_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The diff document (schema/api/version-diff.json) from version record `old` to `new`."""
    a, b = _Side.of(old), _Side.of(new)
    changes = interface_changes(a.inputs, a.outputs, b.inputs, b.outputs)
    required = required_bump(changes)
    bump = release_bump(a.version, b.version)
    aspects: dict[str, Any] = {
        "interface": [c.to_json() for c in changes],
        "format": _pair(a.format, b.format),
        "opsets": _opsets(a.opsets, b.opsets),
        "operators": _added_removed(a.operators, b.operators),
        "parameters": _delta(a.parameters, b.parameters),
        "size": _delta(a.size, b.size),
        "quantization": _pair(dict(a.quantization), dict(b.quantization)),
        "license": _pair(a.license, b.license),
        "risk_tier": _pair(a.risk_tier, b.risk_tier),
        "datasets": {
            "added": _datasets(b.datasets - a.datasets),
            "removed": _datasets(a.datasets - b.datasets),
        },
        "governance": _pair(a.decision, b.decision),
    }
    here = paths.version_diff(b.name, b.version)
    return {
        "api_version": API_VERSION,
        "from": a.id,
        "to": b.id,
        "release": {
            "from": a.version,
            "to": b.version,
            "bump": bump,
            "required": required,
            "required_version": next_release(a.version, required) if core(a.version) else None,
            "sufficient": bump is not None and BUMPS.index(bump) >= BUMPS.index(required),
        },
        **aspects,
        "changed": [name for name in ASPECTS if _changed(aspects[name])],
        "links": {
            "from": _link(here, paths.version_json(a.name, a.version)),
            "to": _link(here, paths.version_json(b.name, b.version)),
        },
    }


def _link(from_file: str, to: str) -> str:
    """Relative to the diff's own place, as every link of the JSON API."""
    return posixpath.relpath(to, posixpath.dirname(from_file))


def _pair(before: Any, after: Any) -> dict[str, Any]:
    return {"from": before, "to": after}


def _delta(before: int | None, after: int | None) -> dict[str, int | None]:
    delta = after - before if before is not None and after is not None else None
    return {"from": before, "to": after, "delta": delta}


def _added_removed(before: frozenset[str], after: frozenset[str]) -> dict[str, list[str]]:
    return {"added": sorted(after - before), "removed": sorted(before - after)}


def _opsets(before: Mapping[str, int], after: Mapping[str, int]) -> dict[str, Any]:
    return {
        "added": {d: v for d, v in sorted(after.items()) if d not in before},
        "removed": {d: v for d, v in sorted(before.items()) if d not in after},
        "changed": {
            d: _pair(before[d], v) for d, v in sorted(after.items()) if before.get(d, v) != v
        },
    }


def _datasets(found: frozenset[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": name, "role": role} for name, role in sorted(found)]


def _changed(aspect: Any) -> bool:
    """A list of changes, a from/to pair, or groups of added/removed/changed entries."""
    if isinstance(aspect, list):
        return bool(aspect)
    if "from" in aspect:
        return bool(aspect["from"] != aspect["to"])
    return any(aspect.values())


# -- in words -------------------------------------------------------------------------------------
def release_words(diff: Mapping[str, Any]) -> str:
    """The release the version numbers make, and the one the interface changes need."""
    release = diff["release"]
    made = (
        f"a {release['bump']} release"
        if release["bump"]
        else "no release bump (MAJOR.MINOR.PATCH is not higher)"
    )
    words = f"{release['from']} -> {release['to']} is {made}"
    if not diff["interface"]:
        return f"{words}; the interface is unchanged"
    need = f"{words}; the interface changes need a {release['required']} release"
    if release["sufficient"] or release["required_version"] is None:
        return need
    return f"{need} ({release['required_version']} after {release['from']})"


def describe(diff: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Each change in words: (aspect, sentence), in the order of ASPECTS; empty when the
    interface and metadata are unchanged."""
    lines: list[tuple[str, str]] = []
    for name in diff["changed"]:
        aspect = diff[name]
        if name == "interface":
            lines += [("interface", f"{c['text']} (needs a {c['needs']} release)") for c in aspect]
        elif name == "opsets":
            lines.append(("opsets", _opset_words(aspect)))
        elif name in ("operators", "datasets"):
            lines.append((name, _added_removed_words(aspect)))
        elif name in ("parameters", "size"):
            unit = " bytes" if name == "size" else ""
            lines.append((name, _delta_words(aspect, unit)))
        elif name == "quantization":
            lines.append((name, f"{_quantized(aspect['from'])} -> {_quantized(aspect['to'])}"))
        else:
            lines.append((name.replace("_", " "), f"{aspect['from']} -> {aspect['to']}"))
    return lines


def _opset_words(opsets: Mapping[str, Any]) -> str:
    words = [f"{d} {v} added" for d, v in opsets["added"].items()]
    words += [f"{d} {v} removed" for d, v in opsets["removed"].items()]
    words += [f"{d} {p['from']} -> {p['to']}" for d, p in opsets["changed"].items()]
    return "; ".join(words)


def _added_removed_words(aspect: Mapping[str, Sequence[Any]]) -> str:
    def name(item: Any) -> str:
        return f"{item['name']} ({item['role']})" if isinstance(item, Mapping) else str(item)

    words = []
    for side in ("added", "removed"):
        if aspect[side]:
            words.append(f"{side} {', '.join(name(item) for item in aspect[side])}")
    return "; ".join(words)


def _number(value: int | None) -> str:
    return "unknown" if value is None else f"{value:,}"


def _delta_words(aspect: Mapping[str, int | None], unit: str) -> str:
    delta = aspect["delta"]
    change = f" ({delta:+,})" if delta is not None else ""
    return f"{_number(aspect['from'])} -> {_number(aspect['to'])}{unit}{change}"


def _quantized(state: Mapping[str, str | None]) -> str:
    detected = state["detected"] or "none detected"
    return f"{detected} ({state['method']})" if state["method"] else detected
