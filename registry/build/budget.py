"""The size budget of a site that serves its own model files (artifacts.store: site).

GitHub Pages refuses a site over 1 GB and a file over 100 MB; other static hosts have limits of
their own. The model files are what makes a site large (pages, records and SBOMs are a few
kilobytes a version), so they are counted from the catalog, once per content (the site stores
each under its SHA-256), before anything is written: a build over budget fails with the
previous site untouched.
"""

from __future__ import annotations

from registry.build.catalog import Catalog
from registry.errors import ModelregError

MIB = 1 << 20
LARGEST_SHOWN = 5


class OverBudget(ModelregError):
    """The model files would not fit the site's size budget."""


def site_files(catalog: Catalog) -> dict[str, tuple[int, str]]:
    """SHA-256 -> (size, the first `name@version: path` that publishes it) of every model file
    the site would serve."""
    found: dict[str, tuple[int, str]] = {}
    for version in catalog.versions():
        art = version.manifest.artifact
        if art.path is None:
            continue  # named by URL: served from there
        files = [(art.path, art.sha256, art.size)]
        files += [(e.path, e.sha256, e.size) for e in art.external_data]
        for relative, sha256, size in files:
            found.setdefault(sha256, (size, f"{version.id}: {relative}"))
    return found


def check_site_budget(catalog: Catalog) -> None:
    config = catalog.config
    if config.store is not None or not config.publish_artifacts:
        return
    budget = config.limits.site
    files = site_files(catalog)
    total = sum(size for size, _ in files.values())
    too_big = sorted((f for f in files.values() if f[0] > budget.max_file_mb * MIB), reverse=True)
    if total <= budget.max_mb * MIB and not too_big:
        return
    largest = too_big or sorted(files.values(), reverse=True)
    shown = "\n".join(
        f"  {size / MIB:,.1f} MiB  {where}" for size, where in largest[:LARGEST_SHOWN]
    )
    problem = (
        f"{len(too_big)} model file(s) over the {budget.max_file_mb} MiB a file may have"
        if too_big
        else f"{total / MIB:,.1f} MiB of model files, over the site's budget of {budget.max_mb} MiB"
    )
    raise OverBudget(
        f"the site would hold {problem}; nothing was written. Largest:\n{shown}\n"
        "Put the model files in an S3-compatible store (registry.yaml: artifacts.store, see "
        "docs/storage.md) so that the site keeps only pages, records and SBOMs, or raise "
        "limits.site.max_mb / max_file_mb if your host allows more."
    )
