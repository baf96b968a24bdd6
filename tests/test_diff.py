"""Version diffs: diff.json against the previous version in the built site, the "Changes since"
section of the version page, and `modelreg diff` locally and against a published registry, on a
real Git registry of real ONNX files whose interface changes from version to version."""

from __future__ import annotations

import copy
import functools
import http.server
import itertools
import json
import shutil
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi

from registry.build.diff import describe, release_words, version_diff
from registry.build.site.server import RangeRequestHandler
from registry.infra.schemadir import schema_dir
from registry.infra.schemafiles import validator
from tests.factories.registries import edit_manifest, new_registry
from tests.helpers import commit_all, run, tree_digest

NAME = "flower-mlp"
# In SemVer order: 2.0.0-rc.1 is the version before 2.0.0.
VERSIONS = ["1.0.0", "1.1.0", "2.0.0-rc.1", "2.0.0"]
HASH = "sha256:" + "ab" * 32
REVIEW = {"review": {"approved_by": "Risk Board", "approved_at": "2024-12-20", "ticket": "RB-7"}}
PER_BUILD = {"v1/stats.json", "metrics.prom"}  # the clock's figures


def onnx_model(path: Path, columns: int, opset: int, activation: str | None) -> int:
    """y[batch, columns] = x[batch, 4] @ w, and z = activation(y) as a second output when
    given; written to `path`. Returns the parameter count (w's elements)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weights = np.arange(4 * columns, dtype=np.float32).reshape(4, columns)
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"])]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", columns])]
    if activation is not None:
        nodes.append(helper.make_node(activation, ["y"], ["z"]))
        outputs.append(helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", columns]))
    graph = helper.make_graph(
        nodes,
        "flower",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
        outputs,
        [numpy_helper.from_array(weights, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(model, path)
    return weights.size


def tensor(name: str, columns: int) -> dict[str, Any]:
    return {"name": name, "dtype": "float32", "shape": ["batch", columns]}


def write_version(
    root: Path, version: str, columns: int, opset: int, activation: str | None, **fields: Any
) -> None:
    """models/NAME/<version>/ with its ONNX file and a manifest that states its interface."""
    import hashlib

    folder = root / "models" / NAME / version
    onnx_model(folder / "model.onnx", columns, opset, activation)
    data = (folder / "model.onnx").read_bytes()
    outputs = [tensor("y", columns)] + ([tensor("z", columns)] if activation else [])
    manifest = {
        "schema_version": "1.0",
        "model_name": NAME,
        "version": version,
        "framework": {"name": "pytorch", "version": "2.3.1"},
        "format": "onnx",
        "artifact": {
            "path": "model.onnx",
            "sha256": hashlib.sha256(data).hexdigest(),
            "size": len(data),
        },
        "input_shape": [tensor("x", 4)],
        "output_schema": outputs,
        "license": "MIT",
        "intended_use": "Classifies flowers from four measurements (a test of version diffs).",
        "publisher": {"name": "Test Publisher", "email": "publisher@example.org"},
        "risk_tier": "tier-1",
        "lineage": {"datasets": [{"name": "iris"}]},
        **fields,
    }
    (folder / "manifest.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))


def make_registry(root: Path) -> dict[str, int]:
    """The four versions, one commit each; the parameter count of each."""
    new_registry(root, "name: Diffs\nbase_url: https://models.example.org/\n")
    later = {
        "schema_version": "1.2",
        "license": "Apache-2.0",
        "risk_tier": "tier-2",
        "governance": REVIEW,
        "quantization_profile": {"method": "float16", "calibration_dataset_hash": HASH},
        "lineage": {
            "datasets": [
                {"name": "iris", "role": "evaluation"},
                {"name": "petals", "role": "training"},
            ],
        },
    }
    plan: list[tuple[str, int, int, str | None, dict[str, Any]]] = [
        ("1.0.0", 3, 17, None, {}),
        # an output added (minor), and the license changed
        ("1.1.0", 3, 17, "Relu", {"license": "Apache-2.0"}),
        # outputs reshaped (major), Relu -> Sigmoid, opset 17 -> 18, and the metadata of `later`
        ("2.0.0-rc.1", 5, 18, "Sigmoid", later),
        # the same file and metadata as the release candidate
        ("2.0.0", 5, 18, "Sigmoid", later),
    ]
    counts = {}
    for day, (version, columns, opset, activation, fields) in enumerate(plan, start=2):
        write_version(root, version, columns, opset, activation, **fields)
        counts[version] = 4 * columns
        commit_all(root, f"add {version}", f"2025-01-{day:02d}T12:00:00+00:00")
    return counts


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("diffs") / "registry"
    make_registry(root)
    return root


@pytest.fixture(scope="module")
def site(registry: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site") / "site"
    code, _, err = run("build", "--root", registry, "--out", out)
    assert code == 0, err
    return out


def folder(site: Path, version: str) -> Path:
    return site / "v1/models" / NAME / version


def published(site: Path, version: str, document: str = "diff.json") -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder(site, version) / document).read_text())
    return data


def size_of(registry: Path, version: str) -> int:
    return (registry / "models" / NAME / version / "model.onnx").stat().st_size


# -- the published documents -------------------------------------------------------------------
def test_each_record_links_the_diff_against_the_version_before_it(site: Path) -> None:
    first = published(site, "1.0.0", "index.json")
    assert first["links"]["diff"] is None
    assert not (folder(site, "1.0.0") / "diff.json").exists()
    for before, version in itertools.pairwise(VERSIONS):
        record = published(site, version, "index.json")
        assert record["links"]["diff"] == "diff.json"
        diff = published(site, version)
        assert (diff["from"], diff["to"]) == (f"{NAME}@{before}", f"{NAME}@{version}")
        assert diff["links"] == {"from": f"../{before}/index.json", "to": "index.json"}


def test_a_compatible_release_adds_an_output_and_changes_the_license(
    site: Path, registry: Path
) -> None:
    diff = published(site, "1.1.0")
    assert diff["changed"] == ["interface", "operators", "size", "license"]
    [change] = diff["interface"]
    assert change["kind"] == "output-added" and change["subject"] == "output `z`"
    assert change["before"] is None and change["after"] == tensor("z", 3)
    assert change["needs"] == "minor"
    assert diff["release"] == {
        "from": "1.0.0",
        "to": "1.1.0",
        "bump": "minor",
        "required": "minor",
        "required_version": "1.1.0",
        "sufficient": True,
    }
    assert diff["operators"] == {"added": ["Relu"], "removed": []}
    assert diff["opsets"] == {"added": {}, "removed": {}, "changed": {}}
    assert diff["parameters"] == {"from": 12, "to": 12, "delta": 0}
    before, after = size_of(registry, "1.0.0"), size_of(registry, "1.1.0")
    assert diff["size"] == {"from": before, "to": after, "delta": after - before}
    assert diff["license"] == {"from": "MIT", "to": "Apache-2.0"}
    assert diff["governance"] == {"from": "allow", "to": "allow"}


def test_a_breaking_release_candidate_states_every_change(site: Path, registry: Path) -> None:
    diff = published(site, "2.0.0-rc.1")
    assert diff["changed"] == [
        "interface",
        "opsets",
        "operators",
        "parameters",
        "size",
        "quantization",
        "risk_tier",
        "datasets",
        "governance",
    ]
    shapes = {
        c["subject"]: (c["kind"], c["before"], c["after"], c["needs"]) for c in diff["interface"]
    }
    assert shapes == {
        "output `y`": ("output-shape", ["batch", 3], ["batch", 5], "major"),
        "output `z`": ("output-shape", ["batch", 3], ["batch", 5], "major"),
    }
    assert diff["release"]["bump"] == "major" and diff["release"]["required"] == "major"
    assert diff["release"]["sufficient"] is True
    assert diff["opsets"] == {
        "added": {},
        "removed": {},
        "changed": {"ai.onnx": {"from": 17, "to": 18}},
    }
    assert diff["operators"] == {"added": ["Sigmoid"], "removed": ["Relu"]}
    assert diff["parameters"] == {"from": 12, "to": 20, "delta": 8}
    before, after = size_of(registry, "1.1.0"), size_of(registry, "2.0.0-rc.1")
    assert diff["size"] == {"from": before, "to": after, "delta": after - before}
    assert diff["quantization"] == {
        "from": {"detected": None, "method": None},
        "to": {"detected": None, "method": "float16"},
    }
    assert diff["license"] == {"from": "Apache-2.0", "to": "Apache-2.0"}
    assert diff["risk_tier"] == {"from": "tier-1", "to": "tier-2"}
    # By name and role: iris was a training set (implied before 1.2), is now an evaluation set.
    assert diff["datasets"] == {
        "added": [{"name": "iris", "role": "evaluation"}, {"name": "petals", "role": "training"}],
        "removed": [{"name": "iris", "role": "training"}],
    }
    assert diff["governance"] == {"from": "allow", "to": "review"}


def test_the_release_after_its_candidate_changes_nothing(site: Path) -> None:
    diff = published(site, "2.0.0")
    assert diff["from"] == f"{NAME}@2.0.0-rc.1"
    assert diff["changed"] == [] and diff["interface"] == []
    assert diff["release"]["bump"] is None  # the same MAJOR.MINOR.PATCH
    assert diff["size"]["delta"] == 0 and diff["parameters"]["delta"] == 0


def test_every_diff_and_record_is_valid_for_its_schema(site: Path) -> None:
    diffs = sorted(site.rglob("diff.json"))
    assert len(diffs) == len(VERSIONS) - 1
    schema = json.loads((schema_dir() / "api/version-diff.json").read_text())
    Draft202012Validator.check_schema(schema)
    for path in diffs:
        errors = list(Draft202012Validator(schema).iter_errors(json.loads(path.read_text())))
        assert errors == [], (path, [e.message for e in errors][:3])
    records = validator("api/version-record.json")
    for version in VERSIONS:
        errors = list(records.iter_errors(published(site, version, "index.json")))
        assert errors == [], (version, [e.message for e in errors][:3])


def test_the_openapi_document_describes_diff_json(site: Path) -> None:
    spec = yaml.safe_load((site / "v1/openapi.yaml").read_text())
    validate_openapi(spec, base_uri=(site / "v1/openapi.yaml").as_uri())
    path = spec["paths"]["/v1/models/{name}/{version}/diff.json"]
    schema = path["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    target = json.loads((site / "v1" / schema["$ref"]).read_text())
    assert target == json.loads((schema_dir() / "api/version-diff.json").read_text())
    links = json.loads((site / "v1/schema/api/version-record.json").read_text())
    assert "diff" in links["properties"]["links"]["required"]


def test_a_wrong_diff_fails_its_schema(site: Path) -> None:
    """The schema can fail: a diff missing an aspect, or with a made-up release."""
    schema = Draft202012Validator(json.loads((schema_dir() / "api/version-diff.json").read_text()))
    diff = published(site, "1.1.0")
    missing = {k: v for k, v in diff.items() if k != "operators"}
    wrong = {**diff, "release": {**diff["release"], "bump": "huge"}}
    assert not schema.is_valid(missing) and not schema.is_valid(wrong)


# -- the version page -------------------------------------------------------------------------
class Section(HTMLParser):
    """The text of <section id="changes">, and the links in it."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.text: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section" and ("id", "changes") in attrs:
            self.depth = 1
        elif tag == "section" and self.depth:
            self.depth += 1
        elif tag == "a" and self.depth:
            self.links.append(dict(attrs)["href"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "section" and self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.text.append(data)


def changes_section(site: Path, version: str) -> Section:
    parser = Section()
    parser.feed((site / "models" / NAME / version / "index.html").read_text())
    return parser


def test_the_version_page_shows_the_changes_since_the_previous_version(site: Path) -> None:
    assert changes_section(site, "1.0.0").text == []  # the first version has none
    section = changes_section(site, "2.0.0-rc.1")
    text = " ".join(" ".join(section.text).split())
    assert "Changes since 1.1.0" in text
    assert "output `y` shape [batch, 3] -> [batch, 5] (needs a major release)" in text
    assert "ai.onnx 17 -> 18" in text and "added Sigmoid; removed Relu" in text
    assert "risk tier tier-1 -> tier-2" in text and "governance allow -> review" in text
    assert "none detected -> none detected (float16)" in text
    page = site / "models" / NAME / "2.0.0-rc.1/index.html"
    for link in section.links:
        assert (page.parent / link).resolve().is_file(), link
    assert "../1.1.0/index.html" in section.links


def test_an_empty_diff_says_nothing_changed(site: Path) -> None:
    text = " ".join(" ".join(changes_section(site, "2.0.0").text).split())
    assert "Changes since 2.0.0-rc.1" in text
    assert "The interface and metadata are unchanged." in text


# -- modelreg diff ------------------------------------------------------------------------------
def diff_json(*args: str | Path) -> tuple[int, str, str]:
    return run("diff", *args, "--format", "json")


def test_a_local_diff_of_adjacent_versions_is_the_published_diff(
    registry: Path, site: Path
) -> None:
    for before, version in itertools.pairwise(VERSIONS):
        code, out, err = diff_json(f"{NAME}@{before}", f"{NAME}@{version}", "--root", registry)
        assert code == 0, err
        assert out == (folder(site, version) / "diff.json").read_text()


def test_a_local_diff_of_any_two_versions(registry: Path) -> None:
    code, out, err = diff_json(f"{NAME}@1.0.0", f"{NAME}@2.0.0", "--root", registry)
    assert code == 0, err
    diff = json.loads(out)
    assert (diff["from"], diff["to"]) == (f"{NAME}@1.0.0", f"{NAME}@2.0.0")
    assert [c["kind"] for c in diff["interface"]] == ["output-added", "output-shape"]
    assert diff["release"]["bump"] == "major" and diff["release"]["required"] == "major"
    assert diff["license"] == {"from": "MIT", "to": "Apache-2.0"}
    assert diff["operators"] == {"added": ["Sigmoid"], "removed": []}
    code, text, err = run("diff", f"{NAME}@1.0.0", f"{NAME}@2.0.0", "--root", registry)
    assert code == 0, err
    lines = text.splitlines()
    assert lines[0] == f"{NAME}@1.0.0 -> {NAME}@2.0.0"
    assert lines[1] == (
        "release: 1.0.0 -> 2.0.0 is a major release; the interface changes need a major release"
    )
    assert "interface: output `z` added (float32 [batch, 5]) (needs a minor release)" in lines
    assert "license: MIT -> Apache-2.0" in lines


def test_the_text_of_an_empty_diff(registry: Path) -> None:
    code, text, err = run("diff", f"{NAME}@2.0.0-rc.1", f"{NAME}@2.0.0", "--root", registry)
    assert code == 0, err
    assert text.splitlines()[1:] == [
        "release: 2.0.0-rc.1 -> 2.0.0 is no release bump (MAJOR.MINOR.PATCH is not higher); "
        "the interface is unchanged",
        "the interface and metadata are unchanged",
    ]


def test_an_unknown_version_is_named_with_those_that_exist(registry: Path) -> None:
    code, out, err = run("diff", f"{NAME}@1.0.0", f"{NAME}@3.0.0", "--root", registry)
    assert code == 1 and out == ""
    assert f"{NAME}@3.0.0: no such version" in err
    assert "its versions: 1.0.0, 1.1.0, 2.0.0-rc.1, 2.0.0" in err
    code, _, err = run("diff", "nothing@1.0.0", "nothing@2.0.0", "--root", registry)
    assert code == 1 and "has no model nothing" in err


@pytest.mark.parametrize(
    "specs",
    [
        ("flower-mlp", "flower-mlp@1.0.0"),
        ("flower-mlp@1.0.0", "other@1.1.0"),
        ("flower-mlp@", "flower-mlp@1.0.0"),
    ],
)
def test_a_malformed_request_is_a_usage_error(registry: Path, specs: tuple[str, str]) -> None:
    code, _, err = run("diff", *specs, "--root", registry)
    assert code == 2, err


def test_a_version_with_errors_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    make_registry(root)
    model = root / "models" / NAME / "1.1.0" / "model.onnx"
    model.write_bytes(model.read_bytes() + b"\0")  # no longer the declared SHA-256 and size
    code, _, err = run("diff", f"{NAME}@1.0.0", f"{NAME}@1.1.0", "--root", root)
    assert code == 1
    assert f"{NAME}@1.1.0 has" in err and "integrity." in err


class QuietHandler(RangeRequestHandler):
    """The handler `modelreg serve` uses, without a log line per request."""

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_site(site: Path) -> Iterator[str]:
    """The built site on a plain static server on loopback."""
    handler = functools.partial(QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def test_a_published_registry_over_http_gives_the_same_diff(
    registry: Path, site: Path, http_site: str
) -> None:
    for before, version in [("1.1.0", "2.0.0-rc.1"), ("1.0.0", "2.0.0")]:
        specs = (f"{NAME}@{before}", f"{NAME}@{version}")
        code, remote, err = diff_json(*specs, "--registry", http_site)
        assert code == 0, err
        assert remote == diff_json(*specs, "--root", registry)[1]
    assert remote != (folder(site, "2.0.0") / "diff.json").read_text()  # not adjacent
    code, _, err = run("diff", f"{NAME}@1.0.0", f"{NAME}@9.0.0", "--registry", http_site)
    assert code == 1 and "9.0.0" in err and "1.0.0, 1.1.0, 2.0.0-rc.1, 2.0.0" in err


def test_a_published_record_is_checked_against_its_schema(site: Path, tmp_path: Path) -> None:
    tampered = tmp_path / "site"
    shutil.copytree(site, tampered)
    path = folder(tampered, "1.0.0") / "index.json"
    record = json.loads(path.read_text())
    path.unlink()  # a link into the cache's objects: replace it, never write through it
    record["governance"]["decision"] = "trust me"
    path.write_text(json.dumps(record))
    code, out, err = run("diff", f"{NAME}@1.0.0", f"{NAME}@1.1.0", "--registry", tampered)
    assert code == 1 and out == ""
    assert "not a valid version-record document" in err


def test_registry_and_root_together_are_a_usage_error(registry: Path, site: Path) -> None:
    specs = (f"{NAME}@1.0.0", f"{NAME}@1.1.0")
    code, _, err = run("diff", *specs, "--root", registry, "--registry", site)
    assert code == 2 and "not both" in err


# -- the function itself -------------------------------------------------------------------------
def test_a_diff_read_backwards_and_a_bump_too_small(site: Path) -> None:
    old, new = published(site, "1.1.0", "index.json"), published(site, "2.0.0-rc.1", "index.json")
    backwards = version_diff(new, old)
    assert backwards["release"]["bump"] is None and not backwards["release"]["sufficient"]
    assert backwards["operators"] == {"added": ["Relu"], "removed": ["Sigmoid"]}
    assert backwards["parameters"]["delta"] == -8
    too_small = copy.deepcopy(new)
    too_small["version"] = "1.2.0"
    diff = version_diff(old, too_small)
    assert diff["release"]["bump"] == "minor" and not diff["release"]["sufficient"]
    assert release_words(diff) == (
        "1.1.0 -> 1.2.0 is a minor release; the interface changes need a major release "
        "(2.0.0 after 1.1.0)"
    )
    assert version_diff(old, old)["changed"] == [] and describe(version_diff(old, old)) == []


def test_a_changed_previous_version_is_seen_by_a_cached_build(tmp_path: Path) -> None:
    """A version's diff reads the version before it: the cache must know (no stale diff)."""
    root = tmp_path / "registry"
    make_registry(root)
    site = tmp_path / "site"
    for _ in range(2):  # the second build is all from the cache
        assert run("build", "--root", root, "--out", site)[0] == 0
    edit_manifest(root, NAME, "1.1.0", license="BSD-3-Clause")
    commit_all(root, "relicense 1.1.0", "2025-02-01T12:00:00+00:00")
    assert run("build", "--root", root, "--out", site)[0] == 0
    diff = published(site, "2.0.0-rc.1")
    assert diff["license"] == {"from": "BSD-3-Clause", "to": "Apache-2.0"}
    fresh = tmp_path / "fresh"
    assert run("build", "--root", root, "--out", fresh, "--no-cache")[0] == 0
    cached = {k: v for k, v in tree_digest(site).items() if k not in PER_BUILD}
    assert cached == {k: v for k, v in tree_digest(fresh).items() if k not in PER_BUILD}
