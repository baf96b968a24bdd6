"""What a run counts as published: the models/<name>/<version> folders whose manifest is committed
at the base revision (`--base`, else HEAD); none outside Git or before the first commit.

A version counted as not published gets the stricter checks of a new one (its version order,
governance errors rather than warnings), so anything Git cannot answer counts as not published.

A pull request's run checks a version or two, while listing every manifest of the base costs
0.75 s at 100,000 versions: a run whose versions belong to few models asks Git about those models'
folders only, each once and when first needed; a larger one lists every manifest at once."""

from __future__ import annotations

from pathlib import Path

from registry.errors import ModelregError
from registry.infra import git
from registry.load.layout import MODELS_DIR
from registry.validate.history import resolve_base
from registry.versions import MANIFEST_NAME

FEW_MODELS = 16  # up to this many models, one `git ls-tree` of each (a few ms each)


class Published:
    """`relative in published`, for `relative` a models/<name>/<version> folder."""

    def __init__(self, root: Path, base: str | None, models: set[str]) -> None:
        """`models`: the names of the models the run checks (those it will ask about)."""
        self._root = root
        self._rev: str | None = None
        self._prefix = ""
        self._by_model: dict[str, frozenset[str]] = {}
        self._every: frozenset[str] | None = frozenset()
        if not git.is_repository(root):
            return
        try:
            self._rev = resolve_base(root, base or "HEAD")
        except ModelregError:
            return  # no commit yet
        self._prefix = git.models_prefix(root)
        self._every = None if len(models) <= FEW_MODELS else self._listed(MODELS_DIR)

    def __contains__(self, relative: object) -> bool:
        if not isinstance(relative, str):
            return False
        parts = relative.split("/")
        if self._every is None and (
            len(parts) != 3 or parts[0] != MODELS_DIR or parts[1] in ("", ".", "..")
        ):
            self._every = self._listed(MODELS_DIR)  # not a version folder's shape: list all
        if self._every is not None:
            return relative in self._every
        name = parts[1]
        if name not in self._by_model:
            self._by_model[name] = self._listed(f"{MODELS_DIR}/{name}")
        return relative in self._by_model[name]

    def _listed(self, folder: str) -> frozenset[str]:
        """The version folders with a manifest committed under `folder` (from the registry's
        root); none when Git cannot list them."""
        assert self._rev is not None
        try:
            files = git.tracked_files(self._root, self._rev, f"{self._prefix}{folder}")
        except ModelregError:
            return frozenset()
        start, suffix = len(self._prefix), "/" + MANIFEST_NAME
        return frozenset(f[start : -len(suffix)] for f in files if f.endswith(suffix))
