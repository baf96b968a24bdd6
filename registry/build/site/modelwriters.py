"""Each model's files on several processes (`build --jobs`): this process writes every jobs-th
block of models, started writers write the others.

A writer is a started process (registry.infra.parallel.started_map), not a fork. A forked writer
and the build's process each end up with a private copy of every inherited page that either
writes into, and reading an object writes its reference count: at 100,000 versions the writing
stage held the build's catalog twice. So each block goes to its writer pickled with what writing
it reads of the catalog (its models, their events, the versions they name as base models, what
the reused site tree holds under their paths), and what every block shares (the settings, the
commit, the lineage graph, the page context) goes once, when the writer starts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from registry.build import paths
from registry.build.catalog import Catalog, ModelEntry, PublishedVersion
from registry.build.site.modelpages import write_model
from registry.build.site.writer import Entry, SiteWriter
from registry.errors import ModelregError
from registry.eventlog.chain import Event
from registry.infra.cache import Cache, Write
from registry.infra.cachekey import code_digest
from registry.infra.console import Progress
from registry.infra.parallel import at_worker_exit, started_map

# Models go out in blocks of this many, neighbours in the catalog together.
_BLOCK = 4

Subject = tuple[str, str | None]


@dataclass(frozen=True, slots=True)
class _Setup:
    """What every block shares: the catalog without its models and events, the page context,
    and where the site and the cache are."""

    site: Path
    cache_enabled: bool
    cache_folder: Path
    catalog: Catalog
    context: dict[str, Any]
    code: str  # registry.infra.cachekey.code_digest() of the build's own process


@dataclass(frozen=True, slots=True)
class _Share:
    """A block as its writer receives it."""

    models: tuple[ModelEntry, ...]
    events: dict[Subject, tuple[Event, ...]]
    references: dict[str, PublishedVersion]
    previous: dict[str, Entry]


class _Block:
    """A block of models in this process; pickled as its _Share when the pool sends it, so
    that only the blocks in flight exist twice."""

    def __init__(self, writing: _Writing, indexes: list[int]) -> None:
        self.writing = writing
        self.indexes = indexes

    def __reduce__(self) -> tuple[type[_Share], tuple[Any, ...]]:
        share = self.writing.share(self.indexes)
        return _Share, (share.models, share.events, share.references, share.previous)


class _Writing:
    """The catalog and the reused tree, indexed by model once, to cut blocks from."""

    def __init__(self, catalog: Catalog, previous: Mapping[str, Entry]) -> None:
        self.catalog = catalog
        self.previous = previous
        self.subjects: dict[str, list[Subject]] = {}
        for subject in catalog.by_subject:
            self.subjects.setdefault(subject[0], []).append(subject)
        self.previous_of: dict[str, dict[str, Entry]] = {}
        for relative, entry in previous.items():
            name = _model_of(relative)
            if name is not None:
                self.previous_of.setdefault(name, {})[relative] = entry

    def share(self, indexes: list[int]) -> _Share:
        catalog = self.catalog
        models = tuple(catalog.models[i] for i in indexes)
        events = {s: catalog.by_subject[s] for m in models for s in self.subjects.get(m.name, ())}
        names = {model.name for model in models}
        references: dict[str, PublishedVersion] = {}
        previous: dict[str, Entry] = {}
        for model in models:
            previous.update(self.previous_of.get(model.name, {}))
            for version in model.versions:
                base = version.manifest.base_model
                found = catalog.find(base) if base else None
                if found is not None and found.name not in names:
                    references[found.id] = found
                art = version.manifest.artifact
                for sha in [art.sha256, *(e.sha256 for e in art.external_data)]:
                    entry = self.previous.get(paths.artifact(sha))
                    if entry is not None:
                        previous[paths.artifact(sha)] = entry
        # A path left out is only placed again: the writer never trusts what it does not know.
        return _Share(models, events, references, previous)


def _model_of(relative: str) -> str | None:
    """The model whose folder of the site holds `relative` (v1/models/<name>/..., or
    models/<name>/...), if any."""
    parts = relative.split("/", 3)
    if parts[0] == "v1" and len(parts) > 3 and parts[1] == "models":
        return parts[2]
    if parts[0] == "models" and len(parts) > 2:
        return parts[1]
    return None


def write_models_in_parallel(
    out: SiteWriter, catalog: Catalog, context: dict[str, Any], jobs: int, progress: Progress
) -> None:
    """The models on `jobs` processes: this one writes every jobs-th block of models while
    jobs - 1 started writers write the others."""
    out.cache.close()  # each process opens its own connection
    count = len(catalog.models)
    blocks = [list(range(i, min(i + _BLOCK, count))) for i in range(0, count, _BLOCK)]
    here = [block for number, block in enumerate(blocks) if number % jobs == 0]
    elsewhere = [block for number, block in enumerate(blocks) if number % jobs != 0]

    def write_here() -> None:
        for block in here:
            for index in block:
                write_model(out, catalog, catalog.models[index], context)
                progress.update()

    if not elsewhere:
        write_here()
        return
    shared = dataclasses.replace(catalog, models=(), events=(), by_subject={}, references={})
    setup = _Setup(out.root, out.cache.enabled, out.cache.folder, shared, context, code_digest())
    writing = _Writing(catalog, out.previous)
    items = [_Block(writing, block) for block in elsewhere]
    try:
        for writes, produced, written in started_map(
            _write_block, items, jobs - 1, _writer, setup, meanwhile=write_here
        ):
            out.cache.apply(writes)
            out.produced.update(produced)
            progress.update(written)
    except BrokenProcessPool:
        if code_digest.__wrapped__() != setup.code:  # read from disk again: not the cached one
            raise CodeChanged(_CODE_CHANGED) from None
        raise WriterEnded(
            "a writer process ended before it had written its models (killed, or out of "
            "memory?). Nothing was published; see the messages above, and run the build again."
        ) from None


class CodeChanged(ModelregError):
    """modelreg's code on disk is not the code the build started with."""


class WriterEnded(ModelregError):
    """A writer process ended before it returned what it wrote."""


_CODE_CHANGED = (
    "modelreg was installed again while this build ran: its writers would not run the build's "
    "code. Nothing was published; run the build again."
)


def _writer(setup: _Setup) -> tuple[SiteWriter, _Setup, bool]:
    """In a started writer: its writer, whose cache writes go back to the parent, and whether
    it runs the build's code (it imports modelreg from disk, as the build did when it began)."""
    cache = Cache(setup.site, setup.cache_enabled, deferred=True, folder=setup.cache_folder)
    at_worker_exit(cache.close)
    return SiteWriter(setup.site, cache), setup, code_digest() == setup.code


def _write_block(
    state: tuple[SiteWriter, _Setup, bool], share: _Share
) -> tuple[list[Write], dict[str, Entry], int]:
    """In a writer: one block's files; what it wrote goes back to the parent."""
    out, setup, same_code = state
    if not same_code:
        raise CodeChanged(_CODE_CHANGED)
    out.previous = share.previous
    catalog = dataclasses.replace(
        setup.catalog, models=share.models, by_subject=share.events, references=share.references
    )
    for model in share.models:
        write_model(out, catalog, model, setup.context)
    produced, out.produced = out.produced, {}
    return out.cache.drain(), produced, len(share.models)
