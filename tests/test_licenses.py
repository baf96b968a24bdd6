"""Licenses (issue 15): a license mistake is told the SPDX id it most likely meant, a deprecated
SPDX id is a warning naming the current ones, and a model whose license breaks a clause of a
dataset it learned from (non-commercial, share-alike, no derivatives) is a warning at that
dataset's license. Real registries validated through the CLI, and the rule table on its own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from registry.governance.licenses import (
    PERMISSIVE,
    LicenseConflict,
    Terms,
    choices,
    clause_conflicts,
    dataset_conflicts,
    expression_conflicts,
    license_terms,
)
from registry.load.manifest_fields import Dataset
from registry.validate.license import license_problem
from tests.factories.registries import add_version, edit_manifest, manifest_path, new_registry
from tests.helpers import commit_all, findings, run, validate_json

SPDX = "(see https://spdx.org/licenses/)"


def _position(root: Path, name: str, *keys: str | int) -> tuple[int, int]:
    """1-based line and column of the key at `keys` in name@1.0.0's manifest."""
    node: Any = yaml.compose(manifest_path(root, name, "1.0.0").read_text())
    key = None
    for step in keys:
        if isinstance(step, int):
            node = node.value[step]
            continue
        key, node = next((k, v) for k, v in node.value if k.value == step)
    assert key is not None
    return key.start_mark.line + 1, key.start_mark.column + 1


def _of(report: dict[str, Any], code: str, name: str) -> list[dict[str, Any]]:
    return [f for f in findings(report, code) if f["file"] == f"models/{name}/1.0.0/manifest.yaml"]


# --- license.invalid: what a contributor wrote, and what the message suggests --------------------

MISTAKES = {
    "Apache 2.0": "did you mean Apache-2.0?",
    "Apache-2": "did you mean Apache-2.0?",
    "Apache 2": "did you mean Apache-2.0?",
    "MIT License": "did you mean MIT?",
    "BSD": "did you mean BSD-3-Clause or BSD-2-Clause?",
    "GPLv3": "did you mean GPL-3.0-only or GPL-3.0-or-later?",
    "GPL-3": "did you mean GPL-3.0-only or GPL-3.0-or-later?",
    "LGPL v2.1": "did you mean LGPL-2.1-only or LGPL-2.1-or-later?",
    "CC BY 4.0": "did you mean CC-BY-4.0?",
    "Public Domain": "did you mean CC0-1.0 or Unlicense?",
    # Derived from the license list, not from a table: full names, typos, word order, "or later".
    "GNU General Public License v3.0 or later": "did you mean GPL-3.0-or-later?",
    "Creative Commons Attribution-ShareAlike 4.0 International": "did you mean CC-BY-SA-4.0?",
    "Apahce-2.0": "did you mean Apache-2.0?",
    "3-Clause BSD": "did you mean BSD-3-Clause?",
    "Apache License, Version 2.0": "did you mean Apache-2.0?",
    # Parts of an expression: the whole expression rewritten, with why.
    "Apache 2.0 OR MIT License": "did you mean Apache-2.0 OR MIT?",
    "MIT or Apache-2.0": "did you mean MIT OR Apache-2.0? (operators are upper case)",
    "mit": "did you mean MIT? (identifiers are case-sensitive)",
    "(Apache 2 OR BSD) AND MIT": (
        "for `Apache 2`, did you mean Apache-2.0?; "
        "for `BSD`, did you mean BSD-3-Clause or BSD-2-Clause?"
    ),
    # A deprecated id the parser takes only as an exception: the expression that replaced it.
    "GPL-2.0-with-classpath-exception": (
        "did you mean GPL-2.0-only WITH Classpath-exception-2.0 or "
        "GPL-2.0-or-later WITH Classpath-exception-2.0?"
    ),
    # Nothing like it: said plainly, not in the parser's words.
    "Foo-1.0": "`Foo-1.0` is not an SPDX license identifier",
    "MIT OR (Apache-2.0": "its parentheses do not pair up",
}


@pytest.fixture(scope="module")
def mistakes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    root = new_registry(tmp_path_factory.mktemp("mistakes"))
    for index, expression in enumerate(MISTAKES):
        add_version(root, f"m{index}", "1.0.0", license=expression)
    commit_all(root, "licenses as contributors write them")
    code, report = validate_json(root)
    assert code == 1
    return root, report


@pytest.mark.parametrize(("index", "expression"), list(enumerate(MISTAKES)))
def test_a_license_mistake_is_told_the_id_it_meant(
    mistakes: tuple[Path, dict[str, Any]], index: int, expression: str
) -> None:
    root, report = mistakes
    [found] = _of(report, "license.invalid", f"m{index}")
    assert found["severity"] == "error"
    assert found["message"] == (
        f"license `{expression}` is not a valid SPDX license expression: "
        f"{MISTAKES[expression]} {SPDX}"
    )
    assert (found["line"], found["column"]) == _position(root, f"m{index}", "license")
    assert not _of(report, "license.dataset-conflict", f"m{index}")


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("GPL", "did you mean GPL-3.0-only or GPL-3.0-or-later?"),  # ScanCode's, never SPDX's
        ("BSD-2", "did you mean BSD-2-Clause?"),
        ("eCos-2.0", "did you mean GPL-2.0-or-later WITH eCos-exception-2.0?"),
        ("Apache 2 or whatever", "for `Apache 2`, did you mean Apache-2.0?; `whatever` is not "),
        ("MIT OR GPL-2.0 or later", "did you mean MIT OR GPL-2.0-or-later?"),
    ],
)
def test_license_problem_suggests(expression: str, problem: str) -> None:
    found = license_problem(expression)
    assert found is not None and found.startswith(problem)


@pytest.mark.parametrize(
    "expression",
    ["MIT", "Apache-2.0 OR MIT", "GPL-2.0-or-later WITH Classpath-exception-2.0", "GPL-2.0+"],
)
def test_valid_expressions_have_no_problem(expression: str) -> None:
    assert license_problem(expression) is None


# --- license.deprecated-id ------------------------------------------------------------------------

DEPRECATED = {
    "GPL-2.0": (
        "GPL-2.0",
        "GPL-2.0-only or GPL-2.0-or-later instead, whichever the license grants",
    ),
    "GPL-3.0": (
        "GPL-3.0",
        "GPL-3.0-only or GPL-3.0-or-later instead, whichever the license grants",
    ),
    "LGPL-2.1": (
        "LGPL-2.1",
        "LGPL-2.1-only or LGPL-2.1-or-later instead, whichever the license grants",
    ),
    "AGPL-3.0": (
        "AGPL-3.0",
        "AGPL-3.0-only or AGPL-3.0-or-later instead, whichever the license grants",
    ),
    "GPL-2.0+": ("GPL-2.0+", "GPL-2.0-or-later instead"),
    "MIT OR GPL-3.0+": ("GPL-3.0+", "GPL-3.0-or-later instead"),
    "wxWindows": ("wxWindows", "GPL-2.0-or-later WITH WxWindows-exception-3.1 instead"),
}


@pytest.fixture(scope="module")
def deprecated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, dict[str, Any]]:
    root = new_registry(tmp_path_factory.mktemp("deprecated"))
    for index, expression in enumerate(DEPRECATED):
        add_version(root, f"d{index}", "1.0.0", license=expression)
    add_version(root, "current", "1.0.0", license="GPL-2.0-only OR LGPL-2.1-or-later")
    commit_all(root, "deprecated SPDX ids")
    code, report = validate_json(root)
    return root, code, report


def test_deprecated_ids_stay_valid(deprecated: tuple[Path, int, dict[str, Any]]) -> None:
    _, code, report = deprecated
    assert code == 0
    assert not findings(report, "license.invalid")
    assert len(findings(report, "license.deprecated-id")) == len(DEPRECATED)


@pytest.mark.parametrize(("index", "expression"), list(enumerate(DEPRECATED)))
def test_a_deprecated_id_is_a_warning_naming_the_current_ids(
    deprecated: tuple[Path, int, dict[str, Any]], index: int, expression: str
) -> None:
    root, _, report = deprecated
    [found] = _of(report, "license.deprecated-id", f"d{index}")
    old, current = DEPRECATED[expression]
    assert found["severity"] == "warning"
    assert found["message"] == (
        f"license `{expression}` uses {old}, a deprecated SPDX license identifier: "
        f"write {current} {SPDX}"
    )
    assert (found["line"], found["column"]) == _position(root, f"d{index}", "license")


def test_current_ids_are_no_warning(deprecated: tuple[Path, int, dict[str, Any]]) -> None:
    _, _, report = deprecated
    assert not _of(report, "license.deprecated-id", "current")
    assert findings(report, "license.deprecated-id")  # while the others are


# --- license.dataset-conflict ---------------------------------------------------------------------


def _datasets(*entries: tuple[str, str, str | None]) -> dict[str, Any]:
    """lineage with datasets (name, license, role); schema 1.2, where roles are stated."""
    datasets = [
        {"name": name, "license": license, **({"role": role} if role else {})}
        for name, license, role in entries
    ]
    return {"schema_version": "1.2", "lineage": {"datasets": datasets}}


CONFLICTS: dict[str, tuple[str, dict[str, Any]]] = {
    "nc-sa": ("Apache-2.0", _datasets(("web", "CC-BY-NC-SA-4.0", "training"))),
    "evaluated": ("Apache-2.0", _datasets(("web", "CC-BY-NC-SA-4.0", "evaluation"))),
    "validated": ("Apache-2.0", _datasets(("web", "CC-BY-NC-SA-4.0", "validation"))),
    "fine-tuned": (
        "MIT",
        _datasets(("bench", "CC-BY-NC-4.0", "evaluation"), ("tune", "CC-BY-ND-4.0", "fine-tuning")),
    ),
    "gpl-choice": ("MIT OR GPL-3.0-only", _datasets(("wiki", "CC-BY-SA-4.0", "training"))),
    "gpl-choice-old": ("MIT OR GPL-3.0-only", _datasets(("wiki", "CC-BY-SA-3.0", "training"))),
    "mit-sa": ("MIT", _datasets(("wiki", "CC-BY-SA-4.0", "training"))),
    "same-license": ("CC-BY-NC-SA-4.0", _datasets(("web", "CC-BY-NC-SA-4.0", "training"))),
    "nc-model": ("CC-BY-NC-4.0", _datasets(("web", "CC-BY-NC-SA-4.0", "training"))),
    "both": ("MIT AND CC-BY-NC-4.0", _datasets(("web", "CC-BY-NC-4.0", "training"))),
    "ref-model": ("LicenseRef-Internal", _datasets(("web", "CC-BY-NC-4.0", "training"))),
    "ref-dataset": ("Apache-2.0", _datasets(("web", "LicenseRef-Scraped", "training"))),
}
# name -> (dataset index, the dataset's name, its license, model license, the clauses named)
EXPECTED = {
    "nc-sa": (0, "web", "CC-BY-NC-SA-4.0", "Apache-2.0", "non-commercial and share-alike"),
    "fine-tuned": (1, "tune", "CC-BY-ND-4.0", "MIT", "no derivatives"),
    "gpl-choice-old": (0, "wiki", "CC-BY-SA-3.0", "MIT OR GPL-3.0-only", "share-alike"),
    "mit-sa": (0, "wiki", "CC-BY-SA-4.0", "MIT", "share-alike"),
    "nc-model": (0, "web", "CC-BY-NC-SA-4.0", "CC-BY-NC-4.0", "share-alike"),
    "both": (0, "web", "CC-BY-NC-4.0", "MIT AND CC-BY-NC-4.0", "non-commercial"),
    "v1": (1, "crawl", "ODbL-1.0", "Apache-2.0", "share-alike"),
}


@pytest.fixture(scope="module")
def conflicts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, dict[str, Any]]:
    root = new_registry(tmp_path_factory.mktemp("conflicts"))
    for name, (model_license, fields) in CONFLICTS.items():
        add_version(root, name, "1.0.0", license=model_license, **fields)
    # Schema 1.0 states no role: a dataset a metric names is an evaluation set, others training.
    add_version(root, "v1", "1.0.0", license="Apache-2.0")
    datasets = [
        {"name": "bench", "license": "CC-BY-NC-4.0"},
        {"name": "crawl", "license": "ODbL-1.0"},
    ]
    metrics = [{"name": "accuracy", "value": 0.9, "dataset": "bench"}]
    edit_manifest(root, "v1", "1.0.0", lineage={"datasets": datasets}, metrics=metrics)
    commit_all(root, "models and their datasets")
    code, report = validate_json(root)
    return root, code, report


def test_conflicts_are_warnings(conflicts: tuple[Path, int, dict[str, Any]]) -> None:
    _, code, report = conflicts
    assert code == 0
    assert {f["severity"] for f in findings(report, "license.dataset-conflict")} == {"warning"}
    assert not findings(report, "license.invalid")


@pytest.mark.parametrize("name", [*CONFLICTS, "v1"])
def test_a_dataset_conflict_names_dataset_licenses_and_clause(
    conflicts: tuple[Path, int, dict[str, Any]], name: str
) -> None:
    root, _, report = conflicts
    found = _of(report, "license.dataset-conflict", name)
    if name not in EXPECTED:
        assert found == []
        assert len(findings(report, "license.dataset-conflict")) == len(EXPECTED)  # the others
        return
    index, dataset, dataset_license, model_license, clauses = EXPECTED[name]
    [conflict] = found
    message = conflict["message"]
    assert message.startswith(f"dataset `{dataset}` (")
    assert f"licensed {dataset_license};" in message
    assert f"the model's license {model_license} does not keep its {clauses} clause" in message
    where = _position(root, name, "lineage", "datasets", index, "license")
    assert (conflict["line"], conflict["column"]) == where


def test_the_message_says_what_to_do(conflicts: tuple[Path, int, dict[str, Any]]) -> None:
    _, _, report = conflicts
    [nc_sa] = _of(report, "license.dataset-conflict", "nc-sa")
    assert nc_sa["message"] == (
        "dataset `web` (training) is licensed CC-BY-NC-SA-4.0; the model's license Apache-2.0 "
        "does not keep its non-commercial and share-alike clauses (non-commercial: it may not "
        "be used commercially; share-alike: what is made from it is shared under the same "
        "license): train without it, license the model under terms that keep them "
        "(e.g. CC-BY-NC-SA-4.0), or get other terms from the dataset's owner"
    )
    [nd] = _of(report, "license.dataset-conflict", "fine-tuned")
    assert "(fine-tuning)" in nd["message"] and "license the model under" not in nd["message"]


# --- the rule table -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("identifier", "terms"),
    [
        ("MIT", PERMISSIVE),
        ("Apache-2.0", PERMISSIVE),
        ("BSD-3-Clause", PERMISSIVE),
        ("ISC", PERMISSIVE),
        ("CC-BY-4.0", PERMISSIVE),
        ("CC0-1.0", PERMISSIVE),
        ("Unlicense", PERMISSIVE),
        ("CC-BY-NC-4.0", Terms(non_commercial=True, version=(4, 0))),
        ("cc-by-nc-4.0", Terms(non_commercial=True, version=(4, 0))),  # dataset fields: any case
        ("CC-BY-ND-4.0", Terms(no_derivatives=True, version=(4, 0))),
        ("CC-BY-SA-3.0-DE", Terms(share_alike="CC-BY-SA", version=(3, 0))),
        (
            "CC-BY-NC-SA-4.0",
            Terms(non_commercial=True, share_alike="CC-BY-NC-SA", version=(4, 0)),
        ),
        ("CC-BY-NC-ND-4.0", Terms(non_commercial=True, no_derivatives=True, version=(4, 0))),
        ("GPL-2.0+", Terms(share_alike="GPL", version=(2, 0))),
        ("GPL-3.0-only", Terms(share_alike="GPL", version=(3, 0))),
        ("AGPL-3.0-or-later", Terms(share_alike="AGPL", version=(3, 0))),
        ("LGPL-2.1", Terms(share_alike="LGPL", version=(2, 1))),
        ("ODbL-1.0", Terms(share_alike="ODBL", version=(1, 0))),
        ("PolyForm-Noncommercial-1.0.0", Terms(non_commercial=True)),
        ("LicenseRef-Internal", None),
        ("Elastic-2.0", None),  # in the SPDX list, not in the table: no rule applies
    ],
)
def test_license_terms(identifier: str, terms: Terms | None) -> None:
    assert license_terms(identifier) == terms


@pytest.mark.parametrize(
    ("model", "dataset", "clauses"),
    [
        ("Apache-2.0", "CC-BY-NC-SA-4.0", {"non-commercial", "share-alike"}),
        ("MIT", "CC-BY-NC-4.0", {"non-commercial"}),
        ("MIT", "CC-BY-SA-4.0", {"share-alike"}),
        ("MIT", "CC-BY-ND-4.0", {"no derivatives"}),
        ("MIT", "GPL-3.0-only", {"share-alike"}),
        ("MIT", "ODbL-1.0", {"share-alike"}),
        ("GPL-3.0-only", "CC-BY-NC-4.0", {"non-commercial"}),  # copyleft is no licence to sell
        ("CC-BY-NC-4.0", "CC-BY-NC-4.0", set()),  # NC keeps NC
        ("CC-BY-NC-SA-4.0", "CC-BY-NC-SA-4.0", set()),  # the same SA family keeps SA
        ("CC-BY-SA-4.0", "CC-BY-SA-3.0", set()),  # a later version of the family
        ("CC-BY-SA-3.0", "CC-BY-SA-4.0", {"share-alike"}),  # not an earlier one
        ("CC-BY-SA-4.0", "CC-BY-NC-SA-4.0", {"non-commercial", "share-alike"}),
        ("CC-BY-NC-SA-4.0", "CC-BY-NC-ND-4.0", {"no derivatives"}),  # nothing keeps ND
        ("GPL-3.0-or-later", "CC-BY-SA-4.0", set()),  # CC: BY-SA 4.0 -> GPLv3
        ("GPL-3.0-only", "CC-BY-SA-3.0", {"share-alike"}),  # not BY-SA 3.0
        ("GPL-2.0-or-later", "LGPL-2.1-only", set()),  # LGPL-2.1 section 3
        ("AGPL-3.0-only", "GPL-3.0-only", set()),  # GPL-3.0 section 13
        ("MIT", "CC-BY-4.0", set()),
        ("MIT", "CC0-1.0", set()),
        ("LicenseRef-Internal", "CC-BY-NC-4.0", set()),  # unknown model license: no finding
        ("MIT", "LicenseRef-Scraped", set()),  # unknown dataset license: no finding
    ],
)
def test_clause_conflicts(model: str, dataset: str, clauses: set[str]) -> None:
    assert clause_conflicts(model, dataset) == clauses


@pytest.mark.parametrize(
    ("model", "dataset", "clauses"),
    [
        # A choice of model license: a conflict only if every choice conflicts.
        ("MIT OR GPL-3.0-only", "CC-BY-SA-4.0", ()),
        ("MIT OR Apache-2.0", "CC-BY-SA-4.0", ("share-alike",)),
        ("MIT OR LicenseRef-Internal", "CC-BY-NC-4.0", ()),
        # then the clauses of the choices that break the fewest
        ("MIT OR CC-BY-NC-4.0", "CC-BY-NC-SA-4.0", ("share-alike",)),
        # Both model licenses: any of them.
        ("CC-BY-NC-4.0 AND MIT", "CC-BY-NC-4.0", ("non-commercial",)),
        (
            "(MIT OR CC-BY-NC-SA-4.0) AND Apache-2.0",
            "CC-BY-NC-SA-4.0",
            ("non-commercial", "share-alike"),
        ),
        # A choice of dataset license: the model may take the one it keeps.
        ("MIT", "CC-BY-4.0 OR CC-BY-NC-4.0", ()),
        ("MIT", "CC-BY-4.0 AND CC-BY-NC-4.0", ("non-commercial",)),
        ("MIT", "CC-BY-NC-4.0 and CC-BY-SA-4.0", ("non-commercial", "share-alike")),
        # An exception changes no clause; what does not parse is no finding.
        ("GPL-2.0-or-later WITH Classpath-exception-2.0", "CC-BY-NC-4.0", ("non-commercial",)),
        ("MIT", "(CC-BY-NC-4.0", ()),
        ("Apache 2.0", "CC-BY-NC-4.0", ()),
    ],
)
def test_expression_conflicts(model: str, dataset: str, clauses: tuple[str, ...]) -> None:
    assert expression_conflicts(model, dataset) == clauses


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("MIT", [{"MIT"}]),
        ("MIT OR (Apache-2.0 AND BSD-3-Clause)", [{"MIT"}, {"Apache-2.0", "BSD-3-Clause"}]),
        ("(MIT OR ISC) AND Zlib", [{"MIT", "Zlib"}, {"ISC", "Zlib"}]),
        ("GPL-2.0-only WITH Classpath-exception-2.0", [{"GPL-2.0-only"}]),
        ("MIT or ISC", [{"MIT"}, {"ISC"}]),
        ("", None),
        ("MIT OR", None),
        ("(MIT", None),
        ("MIT ISC", None),
        ("MIT WITH", None),
    ],
)
def test_choices(expression: str, expected: list[set[str]] | None) -> None:
    found = choices(expression)
    assert (None if found is None else [set(choice) for choice in found]) == expected


def test_only_the_datasets_the_model_learned_from_count() -> None:
    datasets = [
        Dataset("pretrain", license="CC-BY-NC-4.0", role="training"),
        Dataset("tune", license="CC-BY-SA-4.0", role="fine-tuning"),
        Dataset("dev", license="CC-BY-NC-4.0", role="validation"),
        Dataset("bench", license="CC-BY-NC-4.0", role="evaluation"),
        Dataset("unlicensed", role="training"),
        Dataset("open", license="CC-BY-4.0", role="training"),
    ]
    assert dataset_conflicts("Apache-2.0", datasets) == [
        LicenseConflict("pretrain", "CC-BY-NC-4.0", "Apache-2.0", "training", ("non-commercial",)),
        LicenseConflict("tune", "CC-BY-SA-4.0", "Apache-2.0", "fine-tuning", ("share-alike",)),
    ]


def test_conflict_reason_and_message() -> None:
    conflict = LicenseConflict(
        "faces", "CC-BY-NC-ND-4.0", "MIT", "training", ("non-commercial", "no derivatives")
    )
    assert conflict.reason == "non-commercial and no derivatives"
    assert conflict.message.startswith(
        "dataset `faces` (training) is licensed CC-BY-NC-ND-4.0; the model's license MIT does "
        "not keep its non-commercial and no derivatives clauses"
    )
    assert conflict.message.endswith(
        ": train without it, or get other terms from the dataset's owner"
    )


def test_a_conflict_is_on_the_page_and_in_every_sbom(
    conflicts: tuple[Path, int, dict[str, Any]], tmp_path: Path
) -> None:
    root, _, _ = conflicts
    code, out, err = run("build", "--root", root, "--out", tmp_path / "site")
    assert code == 0, out + err
    said = "dataset `web` (training) is licensed CC-BY-NC-SA-4.0"
    folder = tmp_path / "site/v1/models/nc-sa/1.0.0"
    spdx2 = json.loads((folder / "sbom.spdx.json").read_text())
    model = next(p for p in spdx2["packages"] if p["SPDXID"] == "SPDXRef-Model")
    assert any(said in a["comment"] for a in model["annotations"])
    graph = json.loads((folder / "sbom.spdx3.json").read_text())["@graph"]
    assert any(said in e.get("statement", "") for e in graph if e["type"] == "Annotation")
    card = json.loads((folder / "sbom.cdx.json").read_text())["metadata"]["component"]["modelCard"]
    assert any(said in p["value"] for p in card["properties"])
    page = (tmp_path / "site/models/nc-sa/1.0.0/index.html").read_text()
    assert "license.dataset-conflict" in page and said.replace("`", "") in page.replace(
        "<code>", ""
    ).replace("</code>", "").replace("`", "")
    evaluated = (tmp_path / "site/v1/models/evaluated/1.0.0/sbom.spdx.json").read_text()
    assert "license conflict" not in evaluated  # only data the model learned from counts


def test_licenses_of_other_documents_and_bad_dataset_licenses_are_refused(tmp_path: Path) -> None:
    """The SBOMs declare both licenses: each must be an expression they can hold. A DocumentRef
    would need the other SPDX document named with its checksum, which a manifest cannot say."""
    root = new_registry(tmp_path / "registry")
    add_version(root, "docref", "1.0.0", license="DocumentRef-x:LicenseRef-y")
    datasets = [{"name": "d", "license": "DocumentRef-a:LicenseRef-b"}]
    add_version(root, "dataset-docref", "1.0.0", lineage={"datasets": datasets})
    datasets = [{"name": "d", "license": "a licence of our own"}]
    add_version(root, "dataset-words", "1.0.0", lineage={"datasets": datasets})
    _, report = validate_json(root)
    [model] = _of(report, "license.invalid", "docref")
    assert (
        "DocumentRef-x:LicenseRef-y refers to a license in another SPDX document"
        in (model["message"])
    )
    for name in ("dataset-docref", "dataset-words"):
        [found] = _of(report, "license.invalid", name)
        assert found["message"].startswith("dataset `d`'s license")
        position = _position(root, name, "lineage", "datasets", 0, "license")
        assert (found["line"], found["column"]) == position
