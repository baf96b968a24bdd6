"""The sandbox of a run that will inspect every file itself, started before validation loads.

Without the cache and in one process, every selected file goes to the sandbox, and its zygote's
start (an isolated Python, then the libraries of the formats asked for: onnx, numpy) is as long as
this process's own imports and reading of the registry. Started here, from the command line,
before those, the two overlap. This module imports only the sandbox, the handlers and the layout.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from registry.errors import ModelregError
from registry.formats import formats_named
from registry.infra.runoptions import RunOptions, Shard
from registry.load.layout import CONFIG_NAME, VersionDir, all_versions
from registry.sandbox import Inspector, SandboxLimits

_CONFIG_READ = 1 << 20  # bytes of registry.yaml looked at; a larger one is refused anyway


def in_process(jobs: int, versions: int) -> bool:
    """Whether validation runs here rather than in forked workers (each with its own sandbox)."""
    return jobs <= 1 or versions < 2


def inspects_here(cache: bool, selected: list[VersionDir], jobs: int) -> bool:
    """Whether this process will inspect every selected version's file (no cached result spares
    it), so its sandbox is worth starting before it is first needed."""
    return not cache and bool(selected) and in_process(jobs, len(selected))


def selected_versions(
    root: Path, versions: list[VersionDir] | None, shard: Shard | None
) -> list[VersionDir]:
    """`versions` (None: every version of the registry at `root`), those of `shard` only."""
    selected = all_versions(root) if versions is None else versions
    return selected if shard is None else [v for v in selected if shard.holds(v.id)]


def early_sandbox(
    root: Path, versions: list[VersionDir] | None, options: RunOptions
) -> Inspector | None:
    """A started sandbox for validating `versions` (None: all) of the registry at `root`, when
    this process will inspect them, else None. Its limits are the defaults: the registry's
    configuration is not read yet, and validate_registry uses it only if they are its own.
    A registry that cannot be listed gets none: validation reports that in its own order."""
    if _names_sandbox_limits(root):
        return None  # most likely not the defaults: started after the configuration is read
    try:
        selected = selected_versions(root, versions, options.shard)
    except ModelregError:
        return None
    if not inspects_here(options.cache, selected, options.jobs):
        return None
    inspector = Inspector(SandboxLimits())
    inspector.warm(formats_named(v.path for v in selected))
    return inspector


def _names_sandbox_limits(root: Path) -> bool:
    """Whether registry.yaml mentions the sandbox (its limits), read as bytes, not parsed: only
    a guess (the run checks the limits it gets), which spares starting a sandbox for nothing."""
    try:  # not blocking on a FIFO, not reading a device: the loader reports those
        fd = os.open(root / CONFIG_NAME, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        return stat.S_ISREG(os.fstat(fd).st_mode) and b"sandbox" in os.read(fd, _CONFIG_READ)
    except OSError:
        return False
    finally:
        os.close(fd)
