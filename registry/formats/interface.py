"""Model interfaces under SemVer: how the inputs and outputs of two versions differ, which
release each difference needs, and what release two version numbers are (docs/versioning.md).

A consumer feeds the inputs and reads the outputs, so the rules are cargo's applied to tensors:
a patch release keeps the interface identical (a symbolic dim may be renamed); a minor release
accepts everything the old one did (an input dim may become dynamic) and keeps every output in
place (new outputs only after them); anything else is major."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from registry.tensors import Dim, TensorSpec, format_shape
from registry.versions import core

Bump = Literal["patch", "minor", "major"]
BUMPS: tuple[Bump, ...] = ("patch", "minor", "major")
Side = Literal["input", "output"]


def _rank(bump: Bump) -> int:
    return BUMPS.index(bump)


def _largest(bumps: Sequence[Bump]) -> Bump:
    return max(bumps, key=_rank, default="patch")


@dataclass(frozen=True, slots=True)
class InterfaceChange:
    """One difference between two interfaces, and the smallest release it is allowed in."""

    kind: str  # "<side>-removed|added|dtype|shape|order", or "dim-renamed"
    subject: str  # "input `x`", "output `y`", or "inputs"/"outputs" for an order change
    before: Any  # JSON-able; None when added
    after: Any  # JSON-able; None when removed
    needs: Bump

    def text(self) -> str:
        what = self.kind.rpartition("-")[2]
        if what == "removed":
            return f"{self.subject} removed (was {_tensor_text(self.before)})"
        if what == "added":
            return f"{self.subject} added ({_tensor_text(self.after)})"
        if what == "order":
            return f"order of {self.subject} {_names(self.before)} -> {_names(self.after)}"
        if what == "dtype":
            return f"{self.subject} dtype {self.before} -> {self.after}"
        label = "symbolic dim renamed" if self.kind == "dim-renamed" else "shape"
        return f"{self.subject} {label} {format_shape(self.before)} -> {format_shape(self.after)}"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "subject": self.subject,
            "before": self.before,
            "after": self.after,
            "needs": self.needs,
            "text": self.text(),
        }


def _tensor_text(data: dict[str, Any]) -> str:
    return f"{data['dtype']} {format_shape(data['shape'])}"


def _names(names: list[str]) -> str:
    return "[" + ", ".join(f"`{n}`" for n in names) + "]"


def interface_changes(
    old_inputs: Sequence[TensorSpec],
    old_outputs: Sequence[TensorSpec],
    new_inputs: Sequence[TensorSpec],
    new_outputs: Sequence[TensorSpec],
) -> list[InterfaceChange]:
    """Every difference, inputs first; tensors are matched by name."""
    return _side("input", old_inputs, new_inputs) + _side("output", old_outputs, new_outputs)


def _side(
    side: Side, old: Sequence[TensorSpec], new: Sequence[TensorSpec]
) -> list[InterfaceChange]:
    before = {t.name: t for t in old}
    after = {t.name: t for t in new}
    changes = [
        InterfaceChange(f"{side}-removed", f"{side} `{t.name}`", t.to_json(), None, "major")
        for t in old
        if t.name not in after
    ]
    # A caller that feeds inputs must feed a new one too; a new output is only read if wanted.
    added: Bump = "minor" if side == "output" else "major"
    changes += [
        InterfaceChange(f"{side}-added", f"{side} `{t.name}`", None, t.to_json(), added)
        for t in new
        if t.name not in before
    ]
    old_names = [t.name for t in old]
    new_names = [t.name for t in new]
    kept_old = [n for n in old_names if n in after]
    kept_new = [n for n in new_names if n in before]
    # Outputs are read by position too: an output added before an existing one moves it.
    inserted = side == "output" and new_names[: len(kept_new)] != kept_new
    if kept_old != kept_new or inserted:
        changes.append(InterfaceChange(f"{side}-order", f"{side}s", old_names, new_names, "major"))
    for name in kept_new:
        changes += _tensor_changes(side, before[name], after[name])
    return changes


def _tensor_changes(side: Side, old: TensorSpec, new: TensorSpec) -> list[InterfaceChange]:
    subject = f"{side} `{old.name}`"
    changes = []
    if old.dtype != new.dtype:
        changes.append(InterfaceChange(f"{side}-dtype", subject, old.dtype, new.dtype, "major"))
    if old.shape == new.shape:
        return changes
    old_shape = None if old.shape is None else list(old.shape)
    new_shape = None if new.shape is None else list(new.shape)
    if old.shape is None or new.shape is None or len(old.shape) != len(new.shape):
        needs: Bump = "major"  # a rank known, lost or changed
    else:
        needs = _largest(
            [_dim_needs(side, a, b) for a, b in zip(old.shape, new.shape, strict=True)]
        )
    kind = "dim-renamed" if needs == "patch" else f"{side}-shape"
    changes.append(InterfaceChange(kind, subject, old_shape, new_shape, needs))
    return changes


def _dim_needs(side: Side, old: Dim, new: Dim) -> Bump:
    """A symbolic and an unknown dim are both dynamic: between them it is a rename. An input
    that accepts more sizes than before stays compatible; an output must stay as it was."""
    old_fixed, new_fixed = isinstance(old, int), isinstance(new, int)
    if old == new or (not old_fixed and not new_fixed):
        return "patch"
    if side == "input" and old_fixed and not new_fixed:
        return "minor"
    return "major"


def required_bump(changes: Sequence[InterfaceChange]) -> Bump:
    """The smallest release that allows all of `changes` ("patch" when there are none)."""
    return _largest([c.needs for c in changes])


def release_bump(old_version: str, new_version: str) -> Bump | None:
    """What going from `old_version` to `new_version` is, by their cores (pre-release and build
    ignored); None when the new core is not above the old one or either is not SemVer.

    cargo's rule for initial development: in 0.y.z a y bump is major and a z bump minor, and
    in 0.0.z every bump is major."""
    old, new = core(old_version), core(new_version)
    if old is None or new is None or new <= old:
        return None
    if old[0] != new[0]:
        return "major"
    if old[0] == 0:
        return "major" if old[1] != new[1] or old[1] == 0 else "minor"
    return "minor" if old[1] != new[1] else "patch"


def next_release(old_version: str, bump: Bump) -> str:
    """The smallest release after `old_version`'s core that is a `bump` (cargo's 0.y.z rule)."""
    found = core(old_version)
    if found is None:
        raise ValueError(f"not a SemVer version: {old_version!r}")
    major, minor, patch = found
    if major == 0 and (minor == 0 or bump != "major"):
        return f"0.{minor}.{patch + 1}"
    if bump == "major":
        return f"0.{minor + 1}.0" if major == 0 else f"{major + 1}.0.0"
    if bump == "minor":
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"
