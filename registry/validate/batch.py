"""Every selected version's result: from the cache when nothing it depends on changed, else
validated now; on --jobs forked workers when there are several (each with its own sandbox and a
cache whose writes go back to the parent)."""

from __future__ import annotations

import dataclasses
from typing import Any

from registry.infra.cache import Write
from registry.infra.console import Progress, log
from registry.infra.parallel import at_worker_exit, at_worker_stop, forked_map
from registry.load.layout import VersionDir
from registry.sandbox import Inspector
from registry.validate.context import TRANSIENT, RunContext
from registry.validate.early import in_process
from registry.validate.remote import UNVERIFIED
from registry.validate.result import VersionResult
from registry.validate.resultcache import KIND, from_json, still_valid, version_key
from registry.validate.version import validate_one

# Results that depend on the moment (a loaded machine, the network): never kept.
_MOMENTARY = TRANSIENT | {UNVERIFIED}


def validate_all(
    run: RunContext, selected: list[VersionDir], jobs: int, progress: Progress
) -> list[VersionResult]:
    """Every result: from the cache when nothing it depends on changed, else computed; on
    `jobs` processes when there are several."""
    results = []
    if in_process(jobs, len(selected)):
        for version in selected:
            key, stored, live = _settle(version, run)
            result = live or from_json(version, stored)
            results.append(dataclasses.replace(result, inputs_key=key))
            _done(results[-1], progress)
        return results
    settled = forked_map(_settle_in_worker, selected, jobs, run, _for_worker, chunksize=8)
    for version, (key, stored, writes) in zip(selected, settled, strict=True):
        run.cache.apply(writes)
        result = from_json(version, stored)
        results.append(dataclasses.replace(result, inputs_key=key))
        _done(results[-1], progress)
    return results


def _settle(
    version: VersionDir, run: RunContext
) -> tuple[str, dict[str, Any], VersionResult | None]:
    """The key of `version`'s inputs ("" when not cached) and its stored result, from the cache
    or validated now (then also the live result, which keeps the manifest's positions)."""
    key = None
    if run.cache.enabled:
        key = version_key(
            run.cache,
            version,
            run.context,
            version.relative in run.published,
            version.relative in run.new_signatures,
        )
    if key is not None:
        found = run.cache.get(KIND, key)
        if found is not None and still_valid(run.cache, run.manifests, found):
            return key, found, None
    result, stored = validate_one(version, run)
    if key is not None and not any(f.code in _MOMENTARY for f in result.findings):
        run.cache.put(KIND, key, stored)
    return key or "", stored, result


def _for_worker(run: RunContext) -> RunContext:
    """In a forked worker: its own sandbox, and a cache whose writes go back to the parent."""
    own = run.cache.worker()
    inspector = Inspector(run.config.limits.sandbox)
    at_worker_exit(inspector.dispose)
    at_worker_exit(own.close)  # finalizers run in reverse: the cache closes, then the sandbox
    at_worker_stop(inspector.kill)  # stopped by the pool: nothing of the sandbox is left
    return dataclasses.replace(run, inspector=inspector, cache=own)


def _settle_in_worker(
    run: RunContext, version: VersionDir
) -> tuple[str, dict[str, Any], list[Write]]:
    key, stored, _ = _settle(version, run)
    return key, stored, run.cache.drain()


def _done(result: VersionResult, progress: Progress) -> None:
    log(
        "validated",
        f"{result.version.id}: {'ok' if result.ok() else 'failed'}",
        detail=True,
        version=result.version.id,
        ok=result.ok(),
        findings=len(result.findings),
    )
    progress.update()
