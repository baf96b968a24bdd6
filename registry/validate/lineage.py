"""Lineage (NIST AI RMF Map): which version a model was derived from, and from which datasets.

`lineage.base_model` names another version of the registry; following base models from any
version must end (a self-reference or a cycle is an error). Every dataset a metric or an
evaluation report names must be declared in `lineage.datasets` of the version or of one of its
base models, so that each figure can be traced to data the registry knows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from registry.findings import Finding, error
from registry.load.layout import MODELS_DIR
from registry.load.manifest import Manifest, base_model, dataset_names
from registry.load.reports import Report
from registry.load.yamlsafe import load_yaml_file
from registry.validate.ancestry import Ancestry
from registry.versions import MANIFEST_NAME

# Deeper than any real lineage (a chain of every version of a big registry); bounds the walk.
MAX_DEPTH = 100_000


@dataclass
class ManifestIndex:
    """Manifests of the registry read on demand (as plain data), each at most once per run, and
    their chains of base models, each version followed once per run."""

    root: Path
    max_bytes: int
    cache: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    ancestry: Ancestry = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.ancestry = Ancestry(
            lambda ref: base_model(self.data(ref)), lambda ref: dataset_names(self.data(ref))
        )

    def data(self, reference: str) -> dict[str, Any] | None:
        """The manifest `name@version` names, or None when there is none (or it is unreadable)."""
        if reference not in self.cache:
            name, _, version = reference.partition("@")
            path = self.root / MODELS_DIR / name / version / MANIFEST_NAME
            loaded = None
            if "/" not in name + version and ".." not in (name, version) and path.is_file():
                loaded, _ = load_yaml_file(path, reference, self.max_bytes)
            self.cache[reference] = loaded.data if loaded is not None else None
        return self.cache[reference]


def ancestors(start: str, first_base: str | None, index: ManifestIndex) -> tuple[list[str], bool]:
    """The chain of base models from `start` (excluded), and whether it loops back."""
    chain: list[str] = []
    seen = {start}
    current = first_base
    while current is not None and len(chain) < MAX_DEPTH:
        if current in seen:
            return [*chain, current], True
        chain.append(current)
        seen.add(current)
        current = base_model(index.data(current))
    return chain, False


def _chain(
    start: str, base: str | None, index: ManifestIndex
) -> tuple[int, bool, list[str] | None]:
    """What `ancestors(start, base, index)` finds: how many versions, whether it loops, and the
    versions themselves when they had to be walked (None: not walked, see `_knows`).

    Only a loop is walked (its message lists every version, so the walk costs no more than the
    message), or a version the registry names otherwise than its own manifest does."""
    if base is None:
        return 0, False, []
    ancestry = index.ancestry
    above = ancestry.reach(base)
    # Not on its base's chain, or on it as the version its own manifest describes: then the
    # chain from `start` is its base's (a loop through `start` shows as a loop of its base).
    if not above.loops and (not ancestry.visited(start) or base_model(index.data(start)) == base):
        return min(above.versions, MAX_DEPTH), False, None
    chain, loops = ancestors(start, base, index)
    return len(chain), loops, chain


def _knows(
    manifest: Manifest, base: str | None, chain: list[str] | None, index: ManifestIndex
) -> Callable[[object], bool]:
    """Whether a dataset name is declared by the version or a version on its chain. Past
    MAX_DEPTH versions (an error of its own) the whole chain counts."""
    own = set(manifest.lineage.dataset_names) if manifest.lineage else set()
    if chain is not None:
        for ancestor in chain:
            own |= dataset_names(index.data(ancestor))
        return lambda name: name in own
    return lambda name: (
        name in own
        or (isinstance(name, str) and base is not None and index.ancestry.declares(base, name))
    )


def check_lineage(
    manifest: Manifest, reports: Sequence[Report], index: ManifestIndex, display: str
) -> list[Finding]:
    findings: list[Finding] = []
    base = manifest.base_model
    where = manifest.field_position("lineage", "base_model")
    if base == manifest.id:
        findings.append(
            error(
                "lineage.self-reference",
                f"lineage.base_model names this version itself ({base}); name the version it was "
                "derived from, or remove base_model",
                display,
                where,
            )
        )
        base = None
    length, loops, chain = _chain(manifest.id, base, index)
    if length >= MAX_DEPTH:
        findings.append(
            error(
                "lineage.too-deep",
                f"lineage.base_model leads through more than {MAX_DEPTH} versions; no real "
                "lineage is that deep: check the base_model references",
                display,
                where,
            )
        )
    if loops and chain is not None:  # a loop is always walked
        findings.append(
            error(
                "lineage.cycle",
                f"following lineage.base_model loops: {' -> '.join([manifest.id, *chain])}; "
                "a model cannot descend from itself: fix the base_model of one of them",
                display,
                where,
            )
        )
    known = _knows(manifest, base, chain, index)
    hint = "declare it under lineage.datasets (of this version or of its base model)"
    for position, metric in enumerate(manifest.metrics):
        name = metric.dataset
        if name is not None and not known(name):
            findings.append(
                error(
                    "lineage.unknown-dataset",
                    f"metrics[{position}] names the dataset `{name}`, which no lineage declares; "
                    f"{hint}",
                    display,
                    manifest.field_position("metrics", position, "dataset"),
                )
            )
    folder = display.rsplit("/", 1)[0]
    for report in reports:
        name = report.dataset
        if report.kind == "evaluation" and not known(name):
            findings.append(
                error(
                    "lineage.unknown-dataset",
                    f"the evaluation names the dataset `{name}`, which no lineage of "
                    f"{manifest.id} declares; {hint}",
                    f"{folder}/{report.path}",
                    report.position("dataset"),
                )
            )
    return findings
