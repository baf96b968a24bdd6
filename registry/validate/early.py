"""The sandbox of a run that will inspect every file itself, started before validation loads.

Without the cache and in one process, every selected file goes to the sandbox, and its zygote's
start (an isolated Python, then the libraries of the formats asked for: onnx, numpy) is as long as
this process's own imports and reading of the registry. Started here, from the command line,
before those, the two overlap. This module imports only the sandbox, the handlers and the layout.
"""

from __future__ import annotations

from pathlib import Path

from registry.errors import ModelregError
from registry.formats import formats_named
from registry.infra.runoptions import RunOptions
from registry.load.layout import VersionDir, all_versions
from registry.sandbox import Inspector, SandboxLimits


def in_process(jobs: int, versions: int) -> bool:
    """Whether validation runs here rather than in forked workers (each with its own sandbox)."""
    return jobs <= 1 or versions < 2


def inspects_here(cache: bool, selected: list[VersionDir], jobs: int) -> bool:
    """Whether this process will inspect every selected version's file (no cached result spares
    it), so its sandbox is worth starting before it is first needed."""
    return not cache and bool(selected) and in_process(jobs, len(selected))


def early_sandbox(
    root: Path, versions: list[VersionDir] | None, options: RunOptions
) -> Inspector | None:
    """A started sandbox for validating `versions` (None: all) of the registry at `root`, when
    this process will inspect them, else None. Its limits are the defaults: the registry's
    configuration is not read yet, and validate_registry uses it only if they are its own.
    A registry that cannot be listed gets none: validation reports that in its own order."""
    try:
        selected = all_versions(root) if versions is None else versions
    except ModelregError:
        return None
    if options.shard is not None:
        selected = [v for v in selected if options.shard.holds(v.id)]
    if not inspects_here(options.cache, selected, options.jobs):
        return None
    inspector = Inspector(SandboxLimits())
    inspector.warm(formats_named(v.path for v in selected))
    return inspector
