"""The lineage graph the site draws: versions, their base models and datasets, as nodes and
edges (validate.lineage checks the same references)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from registry.load.manifest import DATASET_PREFIX, base_model, learned_from_names


@dataclass(frozen=True)
class LineageGraph:
    """Versions and datasets as nodes; `derived from` and `trained on` as edges.

    Node ids: `name@version` for a version, `dataset:<name>` for a dataset. An edge (a, b)
    means a was made from b.
    """

    versions: frozenset[str]
    datasets: frozenset[str]
    edges: frozenset[tuple[str, str]]

    @classmethod
    def of(cls, manifests: Mapping[str, Mapping[str, Any]]) -> LineageGraph:
        """The graph of `name@version` -> manifest data."""
        edges = set()
        datasets = set()
        for version, data in manifests.items():
            base = base_model(data)
            if base is not None and base in manifests and base != version:
                edges.add((version, base))
            for name in learned_from_names(data):
                datasets.add(DATASET_PREFIX + name)
                edges.add((version, DATASET_PREFIX + name))
        return cls(frozenset(manifests), frozenset(datasets), frozenset(edges))

    @cached_property
    def _out(self) -> dict[str, list[str]]:
        """Node -> what it was made from (its edges' targets)."""
        found: dict[str, list[str]] = {}
        for a, b in self.edges:
            found.setdefault(a, []).append(b)
        return found

    @cached_property
    def _bases(self) -> dict[str, set[str]]:
        """Version -> the versions it is derived from."""
        bases: dict[str, set[str]] = {}
        for a, b in self.edges:
            if b in self.versions:
                bases.setdefault(a, set()).add(b)
        return bases

    @cached_property
    def _derived(self) -> dict[str, set[str]]:
        """Version -> the versions derived from it."""
        derived: dict[str, set[str]] = {}
        for a, bases in self._bases.items():
            for b in bases:
                derived.setdefault(b, set()).add(a)
        return derived

    def descendants(self, version: str) -> list[str]:
        return sorted(self._derived.get(version, ()))

    @staticmethod
    def _reach(start: set[str], step: Mapping[str, set[str]], radius: int | None) -> set[str]:
        found = set(start)
        layer = set(start)
        while layer and (radius is None or radius > 0):
            layer = {o for node in layer for o in step.get(node, ()) if o not in found}
            found |= layer
            radius = None if radius is None else radius - 1
        return found

    def around(self, versions: set[str], radius: int | None = None) -> LineageGraph:
        """The part of the graph about `versions`: their ancestors and descendants (not their
        siblings; at most `radius` steps away when given), and the datasets of all of them."""
        keep = self._reach(versions, self._bases, radius) | self._reach(
            versions, self._derived, radius
        )
        edges = {
            (a, b) for a in keep for b in self._out.get(a, ()) if b in keep or b in self.datasets
        }
        data = {b for _, b in edges if b in self.datasets}
        return LineageGraph(frozenset(keep), frozenset(data), frozenset(edges))

    def by_model(self) -> LineageGraph:
        """The same graph with each version replaced by its model's name (for the whole
        registry); only what takes part in an edge."""

        def model(node: str) -> str:
            return node if node in self.datasets else node.partition("@")[0]

        edges = {(model(a), model(b)) for a, b in self.edges if model(a) != model(b)}
        nodes = {n for edge in edges for n in edge}
        return LineageGraph(
            frozenset(n for n in nodes if n not in self.datasets),
            frozenset(n for n in nodes if n in self.datasets),
            frozenset(edges),
        )
