"""Following `lineage.base_model` for every version of a run, each version walked once.

Each version names at most one base model, so the versions form chains (a tree of them, a chain
may end in a loop). Walking every version's whole chain on its own costs the chain's length per
version: the square of it for a registry that is one long chain (a 3,000-version chain took
minutes to validate). Here what a walk learns about a version (how many versions its chain holds,
whether it loops, whether it declares a dataset, a digest of the whole chain) is kept and reused
by the versions derived from it, so a run costs one step per version and question.

Every walk is a loop, never recursion: a chain may be far deeper than Python's stack.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Container
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Reach:
    """What following base models from one version finds."""

    versions: int  # distinct versions on the chain, this one included
    loops: bool  # the chain comes back to a version it passed


_END = Reach(0, False)  # past the last version of a chain


def _walk(
    start: str, base_of: Callable[[str], str | None], known: Container[str]
) -> tuple[list[str], str | None]:
    """The versions from `start` up to the first one that is already `known`, repeats one of
    them (a loop), or is missing (None); and that first one."""
    path: list[str] = []
    seen: set[str] = set()
    node: str | None = start
    while node is not None and node not in known and node not in seen:
        seen.add(node)
        path.append(node)
        node = base_of(node)
    return path, node


def _digest(parts: object) -> str:
    text = json.dumps(parts, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Ancestry:
    """The chains of base models of one run's registry, learnt as they are asked about.

    `base_of` gives the base model a version names (None: none, or no such version);
    `datasets_of` the datasets it declares. Both must answer the same all run long.
    """

    base_of: Callable[[str], str | None]
    datasets_of: Callable[[str], set[str]]
    _reach: dict[str, Reach] = field(init=False, default_factory=dict)
    _declares: dict[str, dict[str, bool]] = field(init=False, default_factory=dict)
    _fingerprints: dict[str, str] = field(init=False, default_factory=dict)

    def visited(self, version: str) -> bool:
        """Whether `version` lies on a chain already followed by `reach`."""
        return version in self._reach

    def reach(self, version: str) -> Reach:
        path, end = _walk(version, self.base_of, self._reach)
        if end is None:
            after = _END
        elif end in self._reach:
            after = self._reach[end]
        else:  # `end` repeats a version of `path`: from there on, a loop
            loop = path[path.index(end) :]
            after = Reach(len(loop), True)
            for node in loop:
                self._reach[node] = after
            path = path[: -len(loop)]
        for node in reversed(path):
            after = Reach(after.versions + 1, after.loops)
            self._reach[node] = after
        return self._reach[version]

    def declares(self, version: str, dataset: str) -> bool:
        """Whether `version` or a version on its chain declares `dataset`."""
        memo = self._declares.setdefault(dataset, {})
        path, end = _walk(version, self._declaring(dataset), memo)
        found = end is not None and memo.get(end, False)
        if path and dataset in self.datasets_of(path[-1]):
            found = True
        for node in path:
            memo[node] = found
        return memo[version]

    def _declaring(self, dataset: str) -> Callable[[str], str | None]:
        """`base_of` that stops (None) at a version declaring `dataset`."""
        return lambda node: None if dataset in self.datasets_of(node) else self.base_of(node)

    def fingerprint(self, version: str, digest: Callable[[str], str | None]) -> str:
        """A digest of every manifest on the chain from `version` (by `digest`; None: there is
        none): it changes when any of them changes, is added or goes away."""
        path, end = _walk(version, self.base_of, self._fingerprints)
        if end is None:
            after = ""
        elif end in self._fingerprints:
            after = self._fingerprints[end]
        else:  # a loop: one digest for all of it, whichever version it starts at
            loop = path[path.index(end) :]
            after = _digest(["loop", sorted([node, digest(node)] for node in loop)])
            for node in loop:
                self._fingerprints[node] = after
            path = path[: -len(loop)]
        for node in reversed(path):
            after = _digest([node, digest(node), after])
            self._fingerprints[node] = after
        return self._fingerprints[version]
