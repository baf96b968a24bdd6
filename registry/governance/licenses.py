"""Whether a model's license keeps the terms of the datasets it learned from: the rule table and
its use on license expressions (parsed by license-expression). Pure: no I/O; the rules read
license ids by their shape.

A dataset's license may put three clauses on what is made from it; a model trained on the dataset
is treated as made from it (whether a trained model is an adaptation in law is unsettled: these
are warnings for a reviewer, not errors):
- non-commercial: no commercial use. Kept by a model license that is itself non-commercial.
- share-alike: what is made from it is shared under the same license (or one its steward declared
  compatible). Kept by a model license of the same family, at the same or a later version.
- no derivatives: no adapted work may be shared at all. Kept by no license.

Sources:
- SPDX License List, https://spdx.org/licenses/ (the identifiers and their families; `-only`,
  `-or-later` and the deprecated bare and `+` forms name the same license).
- Creative Commons license elements BY, NC, ND, SA, https://creativecommons.org/licenses/ and
  https://creativecommons.org/share-your-work/cclicenses/ (NC: "for noncommercial purposes
  only"; ND: "no derivatives or adaptations"; SA: adaptations "under identical terms"; BY-SA 4.0
  section 3(b): a later version of the same license, or a BY-SA Compatible License).
- Creative Commons, "Compatible licenses",
  https://creativecommons.org/share-your-work/licensing-considerations/compatible-licenses/
  (BY-SA 4.0 -> GPLv3, one-way, since 2015).
- OSI-approved licenses, https://opensource.org/licenses (the permissive ones below; GPL-3.0
  section 13 lets GPLv3 work be combined with AGPLv3 work; LGPL-2.1 section 3 and LGPL-3.0 let
  LGPL work be conveyed under the GPL).
- Open Data Commons ODbL 1.0 section 4.4 (a Derivative Database is shared under the ODbL),
  https://opendatacommons.org/licenses/odbl/1-0/ ; PDDL 1.0 and ODC-By 1.0 put no such clause.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from license_expression import (
    ExpressionError,
    LicenseSymbol,
    LicenseWithExceptionSymbol,
    Licensing,
    get_spdx_licensing,
)

from registry.load.manifest_fields import Dataset

Clause = Literal["non-commercial", "share-alike", "no derivatives"]
CLAUSES: tuple[Clause, ...] = ("non-commercial", "share-alike", "no derivatives")

_WHAT_CLAUSE_MEANS: dict[Clause, str] = {
    "non-commercial": "it may not be used commercially",
    "share-alike": "what is made from it is shared under the same license",
    "no derivatives": "no work adapted from it may be shared",
}


@dataclass(frozen=True, slots=True)
class Terms:
    """What one license asks of works made from what it covers."""

    non_commercial: bool = False
    no_derivatives: bool = False
    share_alike: str | None = None  # the family a work made from it stays in, e.g. CC-BY-SA
    version: tuple[int, ...] = ()


PERMISSIVE = Terms()

# Permissive (and public-domain) licenses: no clause on what is made from the work. SPDX ids,
# OSI-approved permissive licenses and the Creative Commons licenses without NC, ND or SA.
_PERMISSIVE = re.compile(
    r"MIT(-0|-CMU|-Modern-Variant)?|X11|ISC|0BSD|BSD-[1234]-Clause([A-Za-z0-9-]*)?|NCSA|Zlib"
    r"|Apache-1\.[01]|Apache-2\.0|BSL-1\.0|UPL-1\.0|PSF-2\.0|Python-2\.0(\.1)?|Artistic-2\.0"
    r"|Unlicense|CC0-1\.0|CC-PDDC|CC-PDM-1\.0|CC-BY-\d\.\d(-[A-Z]{2,3})?|WTFPL|PDDL-1\.0"
    r"|ODC-By-1\.0|CDLA-Permissive-[12]\.0|OFL-1\.1(-no-RFN|-RFN)?|BlueOak-1\.0\.0|Boehm-GC",
    re.IGNORECASE,
)
# Creative Commons: the elements are the id's own parts (CC-BY-NC-SA-4.0-DE: BY, NC, SA, 4.0).
_CREATIVE_COMMONS = re.compile(
    r"(?P<family>CC(-BY)?(?P<nc>-NC)?(?P<element>-ND|-SA)?)-(?P<version>\d\.\d)(-[A-Z]+)?",
    re.IGNORECASE,
)
# Copyleft families, each kept by itself: the GNU licenses in every SPDX spelling (GPL-2.0,
# GPL-2.0+, GPL-2.0-only, GPL-2.0-or-later, the deprecated GPL-2.0-with-…-exception), the GFDL
# (any invariants variant), the ODbL.
_COPYLEFT = re.compile(
    r"(?P<family>A?GPL|LGPL|GFDL)-(?P<version>\d\.\d)(\+|-only|-or-later|-with-.*|-.*invariants.*)?"
    r"|(?P<odbl>ODbL)-(?P<odbl_version>\d\.\d)",
    re.IGNORECASE,
)
# Other non-commercial licenses, whatever else they say (PolyForm Noncommercial).
_NON_COMMERCIAL = re.compile(r"-NC(-|$)|Non-?commercial", re.IGNORECASE)
# Share-alike families a model may keep under another family's license:
# dataset family -> (model family, lowest dataset version, lowest model version).
_KEPT_BY_OTHER_FAMILY: dict[str, tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...]] = {
    "CC-BY-SA": (("GPL", (4, 0), (3, 0)),),  # CC: BY-SA 4.0 -> GPLv3 (compatible licenses)
    "LGPL": (("GPL", (), ()), ("AGPL", (), ())),  # LGPL-2.1 section 3; LGPL-3.0 = GPL-3.0 + more
    "GPL": (("AGPL", (3, 0), (3, 0)),),  # GPL-3.0 and AGPL-3.0 section 13
}


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def license_terms(identifier: str) -> Terms | None:
    """The terms of one license id (case-insensitive, `+` allowed), or None when the table does
    not know it (a LicenseRef, a license it does not list): no rule applies to those."""
    if identifier.startswith(("LicenseRef-", "DocumentRef-")):
        return None
    if _PERMISSIVE.fullmatch(identifier):
        return PERMISSIVE
    if found := _CREATIVE_COMMONS.fullmatch(identifier):
        element = (found["element"] or "").upper()
        family = found["family"].upper()
        return Terms(
            non_commercial=found["nc"] is not None,
            no_derivatives=element == "-ND",
            share_alike=family if element == "-SA" else None,
            version=_version(found["version"]),
        )
    if found := _COPYLEFT.fullmatch(identifier):
        if found["odbl"]:
            return Terms(share_alike="ODBL", version=_version(found["odbl_version"]))
        return Terms(share_alike=found["family"].upper(), version=_version(found["version"]))
    if _NON_COMMERCIAL.search(identifier):
        return Terms(non_commercial=True)
    return None


def _keeps_share_alike(model: Terms, dataset: Terms) -> bool:
    family = dataset.share_alike
    if model.share_alike == family:
        return model.version >= dataset.version
    return any(
        model.share_alike == other and dataset.version >= lowest and model.version >= model_lowest
        for other, lowest, model_lowest in _KEPT_BY_OTHER_FAMILY.get(family or "", ())
    )


def clause_conflicts(model_license: str, dataset_license: str) -> frozenset[Clause]:
    """The clauses of the dataset's license (one id) that the model's license (one id) does not
    keep; none when either license is unknown to the table."""
    model, dataset = license_terms(model_license), license_terms(dataset_license)
    if model is None or dataset is None:
        return frozenset()
    found: set[Clause] = set()
    if dataset.non_commercial and not model.non_commercial:
        found.add("non-commercial")
    if dataset.share_alike is not None and not _keeps_share_alike(model, dataset):
        found.add("share-alike")
    if dataset.no_derivatives:
        found.add("no derivatives")
    return frozenset(found)


# --- license expressions -------------------------------------------------------------------------


@functools.cache
def spdx_licensing() -> Licensing:
    """license-expression's SPDX licensing, built once (about 10 ms a build)."""
    return get_spdx_licensing()


_MAX_CHOICES = 64  # an expression with more choices, or longer, is left to a reviewer
_MAX_LENGTH = 1000


def choices(expression: str) -> list[frozenset[str]] | None:
    """The expression as its choices (A OR B: two; A AND B: one holding both), each the set of
    license ids a user must follow together (`WITH` exceptions dropped), as license-expression
    parses it (aliases resolved); None when it does not parse, is over 1000 characters or has
    more than 64 choices."""
    if len(expression) > _MAX_LENGTH:
        return None
    licensing = spdx_licensing()
    try:
        parsed = licensing.parse(expression, validate=False)
    except ExpressionError:
        return None
    if parsed is None:
        return None
    try:
        return _expand(parsed, licensing)
    except OverflowError:
        return None


def _expand(node: Any, licensing: Licensing) -> list[frozenset[str]]:
    if isinstance(node, LicenseWithExceptionSymbol):
        return [frozenset({node.license_symbol.key})]
    if isinstance(node, LicenseSymbol):
        return [frozenset({node.key})]
    parts = [_expand(arg, licensing) for arg in node.args]
    if isinstance(node, licensing.OR):
        return [choice for part in parts for choice in part]
    found = [frozenset[str]()]
    for part in parts:  # AND: one choice from each part, followed together
        found = [left | right for left, right in itertools.product(found, part)]
        if len(found) > _MAX_CHOICES:
            raise OverflowError
    return found


def expression_conflicts(model_license: str, dataset_license: str) -> tuple[Clause, ...]:
    """The clauses of the dataset's license the model's license does not keep, both expressions:
    with a choice (OR) on either side, a conflict only if every pair of choices conflicts (then
    those of the pairs with the fewest clauses); within a choice (AND), the clauses of any of its
    licenses. None when either expression does not parse."""
    models, datasets = choices(model_license), choices(dataset_license)
    if not models or not datasets:
        return ()
    found = []
    for model, dataset in itertools.product(models, datasets):
        clauses = frozenset().union(*(clause_conflicts(m, d) for m in model for d in dataset))
        if not clauses:
            return ()
        found.append(clauses)
    fewest = min(len(clauses) for clauses in found)
    kept = frozenset().union(*(clauses for clauses in found if len(clauses) == fewest))
    return tuple(clause for clause in CLAUSES if clause in kept)


@dataclass(frozen=True, slots=True)
class LicenseConflict:
    """A dataset the model learned from whose license's clauses the model's license breaks."""

    dataset: str
    dataset_license: str
    model_license: str
    role: str
    clauses: tuple[Clause, ...]

    @property
    def reason(self) -> str:
        """The clauses broken, e.g. `non-commercial and share-alike`."""
        return " and ".join(self.clauses)

    @property
    def message(self) -> str:
        several = len(self.clauses) > 1
        meaning = "; ".join(f"{c}: {_WHAT_CLAUSE_MEANS[c]}" for c in self.clauses)
        fixes = "train without it"
        if "no derivatives" not in self.clauses:
            example = "" if " " in self.dataset_license else f" (e.g. {self.dataset_license})"
            fixes += f", license the model under terms that keep {'them' if several else 'it'}"
            fixes += example
        return (
            f"dataset `{self.dataset}` ({self.role}) is licensed {self.dataset_license}; the "
            f"model's license {self.model_license} does not keep its {self.reason} "
            f"clause{'s' if several else ''} ({meaning}): {fixes}, or get other terms from the "
            "dataset's owner"
        )


def dataset_conflict(model_license: str, dataset: Dataset) -> LicenseConflict | None:
    """The conflict between the model's license and one dataset, if the model learned from it
    (training, fine-tuning: a dataset it was only validated or evaluated on does not count)."""
    if not dataset.learned_from or dataset.license is None:
        return None
    clauses = expression_conflicts(model_license, dataset.license)
    if not clauses:
        return None
    role = dataset.role or "training"
    return LicenseConflict(dataset.name, dataset.license, model_license, role, clauses)


def dataset_conflicts(model_license: str, datasets: Iterable[Dataset]) -> list[LicenseConflict]:
    """Every conflict between the model's license and the datasets it learned from, in order."""
    found = (dataset_conflict(model_license, dataset) for dataset in datasets)
    return [conflict for conflict in found if conflict is not None]
