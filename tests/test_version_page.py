"""The version page (issue 18): usage snippets that work as shown (the Python one, taken from
the page, downloads a model from a served site and verifies it), names that stay inside their
quoting, the badges near the title and the file table."""

from __future__ import annotations

import ast
import copy
import functools
import hashlib
import http.server
import importlib.util
import json
import os
import shlex
import shutil
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from registry.build.site.html import render_page
from registry.build.site.snippets import usage_snippets
from tests.factories.manifests import dump_manifest
from tests.factories.registries import NMP, add_version, new_registry
from tests.helpers import PROJECT, commit_all, run

# Names valid in the manifest schema (and accepted by validation) that try to break out of
# every snippet's quoting: shell expansions, both quotes, a newline, markup.
HOSTILE_NAME = "hostile-names"
HOSTILE_VERSION = "1.0.0-rc.1+b.7"
HOSTILE_INPUT = "x'\"\n]}); __import__('os').system('touch pwned-input') #</code><script>alert(1)"
HOSTILE_DIM = "n'); $(touch pwned-dim)"
HOSTILE_MODEL = 'it\'s "a" $(touch pwned-model) `touch pwned-tick`;x.onnx'
HOSTILE_WEIGHTS = "weights dir/w $(touch pwned-weights)'\"`.bin"

ONNX = "iris-mlp/1.2.0"
TFLITE = "keyword-dense/2.0.0"
TORCHSCRIPT = "tiny-convnet/0.1.0"
HOSTILE = f"{HOSTILE_NAME}/{HOSTILE_VERSION}"


@dataclass(frozen=True)
class Served:
    root: Path  # the registry; its site/ is served
    url: str  # the site's URL (the registry's base_url)

    @property
    def site(self) -> Path:
        return self.root / "site"

    def page(self, version: str) -> str:
        return (self.site / "models" / version / "index.html").read_text()

    def record(self, version: str) -> dict[str, Any]:
        record: dict[str, Any] = json.loads(
            (self.site / "v1/models" / version / "index.json").read_text()
        )
        return record

    def source(self, version: str) -> Path:
        return self.root / "models" / version


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def _hostile_version(root: Path) -> None:
    """An ONNX model (y = x @ w, w as external data) whose file, weights and input carry the
    hostile names, with its manifest."""
    from onnx import TensorProto, helper

    folder = root / "models" / HOSTILE
    (folder / HOSTILE_WEIGHTS).parent.mkdir(parents=True)
    weights = TensorProto(
        name="w", data_type=TensorProto.FLOAT, dims=[4, 4], data_location=TensorProto.EXTERNAL
    )
    for key, value in {"location": HOSTILE_WEIGHTS, "offset": "0", "length": "64"}.items():
        weights.external_data.add(key=key, value=value)
    graph = helper.make_graph(
        [helper.make_node("MatMul", [HOSTILE_INPUT, "w"], ["y"])],
        "g",
        [helper.make_tensor_value_info(HOSTILE_INPUT, TensorProto.FLOAT, [HOSTILE_DIM, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [HOSTILE_DIM, 4])],
        [weights],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    (folder / HOSTILE_MODEL).write_bytes(model.SerializeToString())
    (folder / HOSTILE_WEIGHTS).write_bytes(np.arange(16, dtype=np.float32).tobytes())

    def ref(name: str) -> dict[str, Any]:
        data = (folder / name).read_bytes()
        return {"path": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}

    manifest = {
        "schema_version": "1.1",
        "model_name": HOSTILE_NAME,
        "version": HOSTILE_VERSION,
        "framework": {"name": "onnx", "version": "1.17.0"},
        "format": "onnx",
        "artifact": {**ref(HOSTILE_MODEL), "external_data": [ref(HOSTILE_WEIGHTS)]},
        "input_shape": [{"name": HOSTILE_INPUT, "dtype": "float32", "shape": [HOSTILE_DIM, 4]}],
        "output_schema": [{"name": "y", "dtype": "float32", "shape": [HOSTILE_DIM, 4]}],
        "license": "MIT",
        "intended_use": "Names that try to break out of every snippet's quoting.",
        "publisher": {"name": "tests"},
        "risk_tier": "tier-1",
    }
    (folder / "manifest.yaml").write_text(dump_manifest(manifest))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The example registry plus the hostile version, served on loopback and built with that
    server as its base_url (so that the records' download URLs point at it)."""
    root = tmp_path_factory.mktemp("registry")
    shutil.copytree(PROJECT / "models", root / "models")
    shutil.copy(PROJECT / "registry.yaml", root / "registry.yaml")
    _hostile_version(root)
    # committed after the examples' governance reviews were approved (2025-02-01)
    commit_all(root, "examples and hostile names", "2025-06-01T12:00:00+00:00")
    handler = functools.partial(_Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/site/"
    code, _, err = run("build", "--root", root, "--out", root / "site", "--base-url", url)
    assert code == 0, err
    yield Served(root, url)
    server.shutdown()
    server.server_close()


class _Snippets(HTMLParser):
    """Each usage snippet of a page by its key (its heading's id is use-<key>): the code shown,
    and what its copy button copies."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.key = ""
        self.shown: dict[str, str] = {}
        self.copied: dict[str, str] = {}
        self._snippet = self._code = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if tag == "h3" and found.get("id", "").startswith("use-"):
            self.key = found["id"].removeprefix("use-")
        elif tag == "div" and "snippet" in found.get("class", "").split():
            self._snippet = True
        elif tag == "code" and self._snippet:
            self._code = True
            self.shown[self.key] = ""
        elif tag == "button" and self._snippet and "data-copy" in found:
            self.copied[self.key] = found["data-copy"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "code":
            self._code = False
        elif tag == "div":
            self._snippet = False

    def handle_data(self, data: str) -> None:
        if self._code:
            self.shown[self.key] += data


def snippets_of(html: str) -> dict[str, str]:
    """The page's snippets by key; each copy button copies exactly the code it is shown with."""
    parser = _Snippets()
    parser.feed(html)
    assert parser.copied == parser.shown
    return parser.shown


def _environment() -> dict[str, str]:
    # A proxy from the environment must not stand between the snippet and the loopback server.
    return {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}


def run_python(code: str, folder: Path) -> subprocess.CompletedProcess[str]:
    """`code` run by this interpreter in `folder`, as a user pastes it."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=folder,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def files_under(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def expected_files(served: Served, version: str) -> dict[str, bytes]:
    """Each file of `version` (artifact and external data) by its path, as in the registry."""
    art = served.record(version)["artifact"]
    names = [art["path"], *(e["path"] for e in art["external_data"])]
    return {name: (served.source(version) / name).read_bytes() for name in names}


# -- the Python snippet: taken from the page, run against the served site ----------------------
@pytest.mark.parametrize("version", [ONNX, HOSTILE])
def test_the_python_snippet_downloads_and_verifies_every_file(
    served: Served, version: str, tmp_path: Path
) -> None:
    code = snippets_of(served.page(version))["python"]
    done = run_python(code, tmp_path)
    assert done.returncode == 0, done.stderr
    expected = expected_files(served, version)
    assert files_under(tmp_path) == expected  # the model's bytes, nothing else (no .part)
    assert done.stdout.splitlines() == [f"verified {name}" for name in expected]


@pytest.mark.parametrize("version", [ONNX, HOSTILE])
def test_a_corrupted_file_fails_the_python_snippet_and_is_not_kept(
    served: Served, version: str, tmp_path: Path
) -> None:
    code = snippets_of(served.page(version))["python"]
    sha256 = served.record(version)["artifact"]["sha256"]
    target = served.site / "artifacts/sha256" / sha256
    original = target.read_bytes()
    corrupted = bytes([original[0] ^ 0xFF]) + original[1:]
    try:
        # Replaced, never written in place: a built site's files are links into the cache.
        target.unlink()
        target.write_bytes(corrupted)
        done = run_python(code, tmp_path)
    finally:
        target.unlink()
        target.write_bytes(original)
    assert done.returncode != 0
    assert f"SHA-256 {hashlib.sha256(corrupted).hexdigest()} is not {sha256}" in done.stderr
    assert files_under(tmp_path) == {}


# -- the loader of each format, run on the files the Python snippet downloaded -----------------
def _has(*modules: str) -> bool:
    return any(importlib.util.find_spec(module) is not None for module in modules)


@pytest.mark.parametrize(
    ("version", "runtimes", "printed"),
    [
        (ONNX, ("onnxruntime",), "probabilities (1, 3)"),
        (TFLITE, ("tflite_runtime", "ai_edge_litert", "tensorflow"), "(1, "),
        (TORCHSCRIPT, ("torch",), "torch.Size([1, "),
        (HOSTILE, ("onnxruntime",), "y (1, 4)"),
    ],
)
def test_the_loader_snippet_runs_the_downloaded_model(
    served: Served, version: str, runtimes: tuple[str, ...], printed: str, tmp_path: Path
) -> None:
    if not _has(*runtimes):
        pytest.skip(f"none of {', '.join(runtimes)} is installed")
    snippets = snippets_of(served.page(version))
    assert run_python(snippets["python"], tmp_path).returncode == 0
    done = run_python(snippets["loader"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert printed in done.stdout
    assert not list(tmp_path.rglob("pwned*"))


def test_the_torchscript_snippet_says_loading_runs_code(served: Served) -> None:
    page = served.page(TORCHSCRIPT)
    loader = snippets_of(page)["loader"]
    assert loader.startswith("# Loading TorchScript runs code from the file")
    assert "torch.jit.load('model.pt'" in loader
    assert "Loading TorchScript runs code from the file: load only a file this registry" in page


# -- the shell snippets --------------------------------------------------------------------------
@pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("bash", "curl", "sha256sum")),
    reason="needs bash, curl and sha256sum",
)
def test_the_curl_snippet_downloads_and_checks_names_as_they_are(
    served: Served, tmp_path: Path
) -> None:
    code = snippets_of(served.page(HOSTILE))["curl"]
    done = subprocess.run(
        ["bash", "-c", code],
        cwd=tmp_path,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    expected = expected_files(served, HOSTILE)
    assert files_under(tmp_path) == expected  # and no pwned-* file: nothing was expanded
    assert done.stdout.splitlines() == [f"{name}: OK" for name in expected]


def test_the_fetch_snippet_fetches_from_the_registry(served: Served, tmp_path: Path) -> None:
    command = snippets_of(served.page(ONNX))["fetch"]
    assert command == f"modelreg fetch iris-mlp@1.2.0 --registry {served.url}\n"
    words = shlex.split(command)
    code, _, err = run(*words[1:], "--to", tmp_path)
    assert code == 0, err
    assert (tmp_path / "model.onnx").read_bytes() == expected_files(served, ONNX)["model.onnx"]


def test_names_stay_inside_their_quoting(served: Served) -> None:
    """Each snippet parses (as Python, as shell words) into exactly the record's values."""
    record = served.record(HOSTILE)
    snippets = {s.key: s.text for s in usage_snippets(record, served.url)}
    assert snippets == snippets_of(served.page(HOSTILE))
    art = record["artifact"]
    files = [(f["path"], f["sha256"], f["url"]) for f in [art, *art["external_data"]]]

    assigned = {
        node.targets[0].id: node.value  # type: ignore[attr-defined]
        for node in ast.parse(snippets["python"]).body
        if isinstance(node, ast.Assign)
    }
    assert ast.literal_eval(assigned["FILES"]) == files
    loader = ast.parse(snippets["loader"]).body
    inputs = next(n.value for n in loader if isinstance(n, ast.Assign) and _named(n, "inputs"))
    assert isinstance(inputs, ast.Dict)
    assert [ast.literal_eval(key) for key in inputs.keys if key] == [HOSTILE_INPUT]

    lines = snippets["curl"].splitlines()
    curls = [shlex.split(line) for line in lines if line.startswith("curl ")]
    assert curls == [["curl", "-fgL", "--create-dirs", "-o", name, url] for name, _, url in files]
    assert lines[len(curls) :] == [
        "sha256sum -c <<'EOF'",
        *(f"{sha}  {name}" for name, sha, _ in files),
        "EOF",
    ]
    assert shlex.split(snippets["fetch"]) == [
        "modelreg",
        "fetch",
        f"{HOSTILE_NAME}@{HOSTILE_VERSION}",
        "--registry",
        served.url,
    ]


@pytest.mark.parametrize(
    ("url", "saved_as"),
    [
        ("https://cdn.example.org/m/model-v2.onnx?token=a&b=c", "model-v2.onnx"),
        # Else `artifact`, as modelreg fetch and validation name it (registry.infra.urlnames).
        ("https://cdn.example.org/m/%24(touch%20pwned).onnx", "artifact"),
        ("https://cdn.example.org/m/-o", "artifact"),
        ("https://cdn.example.org/", "artifact"),
    ],
)
def test_a_url_artifact_is_saved_under_a_plain_name(url: str, saved_as: str) -> None:
    record = {
        "name": "remote",
        "version": "1.0.0",
        "status": "active",
        "manifest": {"format": "onnx", "input_shape": []},
        "artifact": {"path": None, "sha256": "ab" * 32, "url": url, "external_data": []},
    }
    snippets = {s.key: s.text for s in usage_snippets(record, "https://r.example/")}
    assert shlex.split(snippets["curl"].splitlines()[0])[4:] == [saved_as, url]
    assert f"session = ort.InferenceSession({saved_as!r}," in snippets["loader"]


def _named(node: ast.Assign, name: str) -> bool:
    return isinstance(node.targets[0], ast.Name) and node.targets[0].id == name


def test_a_name_cannot_add_markup_to_the_page(served: Served) -> None:
    class Tags(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.scripts: list[str | None] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "script":
                self.scripts.append(dict(attrs).get("src"))

    tags = Tags()
    tags.feed(served.page(HOSTILE))
    assert tags.scripts == ["../../../static/catalog.js"]


# -- badges and the file table -------------------------------------------------------------------
class _Badges(HTMLParser):
    """The badges of <p class="badges"> (the one after the title): class -> aria-label."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.badges: dict[str, str] = {}
        self.roles: set[str | None] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "p" and found.get("class") == "badges":
            self.inside = True
        elif tag == "span" and self.inside:
            classes = (found.get("class") or "").split()
            self.badges[" ".join(c for c in classes if c != "badge")] = found["aria-label"] or ""
            self.roles.add(found.get("role"))

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self.inside = False


def badges_of(html: str) -> dict[str, str]:
    parser = _Badges()
    parser.feed(html)
    assert parser.roles == {"img"}  # so that screen readers read the label
    return parser.badges


def test_badges_say_status_validation_signature_and_decision(served: Served) -> None:
    page = served.page(ONNX)
    assert page.index("<h1>") < page.index('<p class="badges">') < page.index('class="lead"')
    record = served.record(ONNX)
    updated = record["history"]["updated"]
    assert badges_of(page) == {
        "status-active": "status: active",
        "validated": "validated: passed every check of modelreg validate; files as of commit "
        f"{updated['sha'][:12]}, {updated['timestamp']}",
        "unsigned": "unsigned",
        "decision-allow": "governance decision: allow",
        "tier-tier-1": "risk tier: tier-1",
        "alias": "alias staging: modelreg fetch iris-mlp@staging",
    }
    assert 'id="changes"' in page  # the sections before this one are kept


def test_a_validated_version_with_warnings_says_how_many(served: Served) -> None:
    label = badges_of(served.page("iris-mlp/1.0.0"))["validated"]
    assert label.startswith("validated: passed every check of modelreg validate, with 1 warning")


def _rendered(served: Served, record: dict[str, Any]) -> str:
    """version.html for `record` (edited from a built one), with the rest left empty."""
    page = f"models/{record['name']}/{record['version']}/index.html"
    return render_page(
        "version.html",
        page,
        record=record,
        io=[],
        file_rows=[],
        snippets=usage_snippets(record, served.url),
        artifact_href=None,
        signature_href=None,
        lineage_svg=None,
        events=[],
        diff=None,
        changes=[],
        release=None,
        registry={"name": "tests", "description": ""},
        generator="modelreg",
        has_docs=False,
    )


def test_a_signed_version_names_who_signed_it(served: Served) -> None:
    record = copy.deepcopy(served.record(ONNX))
    record["signature"].update(
        present=True, verified=True, identity="alice@example.org", issuer="https://ca.example"
    )
    badges = badges_of(_rendered(served, record))
    assert badges["signed"] == "signed by alice@example.org, issued by https://ca.example"
    record["signature"].update(verified=False, problem="expired")
    assert badges_of(_rendered(served, record))["unsigned"] == "signature present but not verified"


def test_deprecated_and_blocked_versions(served: Served) -> None:
    record = copy.deepcopy(served.record(ONNX))
    record["status"] = "deprecated"
    page = _rendered(served, record)
    assert badges_of(page)["status-deprecated"] == "status: deprecated"
    assert snippets_of(page)["fetch"].endswith(" --allow-deprecated\n")  # fetch refuses without
    record["status"] = "blocked"
    record["governance"].update(decision="block", blocked={"reason": "drift", "event": None})
    page = _rendered(served, record)
    assert badges_of(page)["decision-block"] == "governance decision: block"
    assert snippets_of(page) == {}  # no way around the block is handed out
    assert "No usage snippet: governance blocked this version" in page


class _FileTable(HTMLParser):
    """The rows of <table class="files">: the text of each cell, and its copy and link targets."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[dict[str, Any]] = []
        self.inside = self.scroll = self.cell = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "div" and found.get("class") == "scroll":
            self.scroll = True
        elif tag == "table" and found.get("class") == "files":
            assert self.scroll  # a wide table scrolls in its own box, not the page
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append({"cells": [], "copy": [], "links": []})
        elif self.inside and tag in ("td", "th") and self.rows:
            self.rows[-1]["cells"].append("")
            self.cell = True
        elif self.inside and tag == "button":
            self.rows[-1]["copy"].append(found["data-copy"])
        elif self.inside and tag == "a":
            self.rows[-1]["links"].append(found["href"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.inside = False
        elif tag in ("td", "th"):
            self.cell = False

    def handle_data(self, data: str) -> None:
        if self.inside and self.cell:
            self.rows[-1]["cells"][-1] += data


def test_the_file_table_lists_every_file_with_its_download(served: Served) -> None:
    table = _FileTable()
    table.feed(served.page(HOSTILE))
    header, *rows = table.rows
    assert header["cells"] == ["file", "size", "sha256", "download"]
    record = served.record(HOSTILE)
    art = record["artifact"]
    page_url = f"{served.url}models/{HOSTILE}/index.html"
    for row, (kind, entry) in zip(
        rows,
        [("artifact", art), *(("external data", e) for e in art["external_data"])],
        strict=True,
    ):
        name, size, sha256, download = (" ".join(c.split()) for c in row["cells"])
        assert name == f"{' '.join(entry['path'].split())} {kind}"
        assert size == f"{entry['size']} bytes"
        assert sha256 == f"{entry['sha256']} Copy" and row["copy"] == [entry["sha256"]]
        assert download == "download"
        (href,) = row["links"]
        with urllib.request.urlopen(urllib.parse.urljoin(page_url, href)) as response:  # noqa: S310 - loopback
            assert response.read() == (served.source(HOSTILE) / entry["path"]).read_bytes()


def test_a_size_of_a_kibibyte_or_more_is_also_shown_for_humans(served: Served) -> None:
    table = _FileTable()
    table.feed(served.page(TORCHSCRIPT))
    size = served.record(TORCHSCRIPT)["artifact"]["size"]
    assert size >= 1024
    cell = " ".join(table.rows[1]["cells"][1].split())
    assert cell.endswith(f"KiB ({size:,} bytes)")


# -- the cache -----------------------------------------------------------------------------------
def test_the_page_shows_the_registry_url_it_was_built_for(tmp_path: Path) -> None:
    """The fetch snippet names base_url, which the record does not hold when artifacts are
    elsewhere: a cached page must not keep an earlier build's URL."""
    root = new_registry(
        tmp_path / "registry",
        "name: tests\nartifact_url_template: https://files.example.org/{sha256}\n",
    )
    add_version(root, "kws", "1.0.0", model=NMP)
    commit_all(root, "one version")
    pages: list[str] = []
    for url, cache in (
        ("https://a.example/", []),
        ("https://b.example/", []),
        ("https://b.example/", ["--no-cache"]),
    ):
        out = tmp_path / f"site-{len(pages)}"
        code, _, err = run("build", "--root", root, "--out", out, "--base-url", url, *cache)
        assert code == 0, err
        pages.append((out / "models/kws/1.0.0/index.html").read_text())
    assert "--registry https://a.example/" in snippets_of(pages[0])["fetch"]
    assert "--registry https://b.example/" in snippets_of(pages[1])["fetch"]
    assert pages[1] == pages[2]


# -- in the browser ------------------------------------------------------------------------------
@pytest.mark.browser
def test_each_copy_button_copies_its_snippet(served: Served, browser: Any) -> None:
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{served.url}models/{HOSTILE}/index.html")
    expected = snippets_of(served.page(HOSTILE))
    for key, text in expected.items():
        button = page.locator(f"#use-{key} ~ div.snippet").first.locator("button")
        button.click()
        page.wait_for_function("b => b.textContent === 'Copied'", arg=button.element_handle())
        assert page.evaluate("navigator.clipboard.readText()") == text
    context.close()
    assert errors == []


def test_no_snippets_when_two_files_would_share_a_name() -> None:
    """A URL artifact saved as `convnet~1.pt` -> `artifact`, beside external data `ARTIFACT`:
    one download would replace the other after both verified. Better no snippet than that."""
    record: dict[str, Any] = {
        "name": "m",
        "version": "1.0.0",
        "status": "active",
        "manifest": {"format": "torchscript", "input_shape": []},
        "artifact": {
            "path": None,
            "url": "https://files.example/m/convnet~1.pt",
            "sha256": "a" * 64,
            "external_data": [
                {"path": "ARTIFACT", "url": "https://files.example/x", "sha256": "b" * 64}
            ],
        },
    }
    assert usage_snippets(record, "https://registry.example/") == ()
    record["artifact"]["external_data"][0]["path"] = "weights.bin"
    assert [s.key for s in usage_snippets(record, "https://registry.example/")][:3] == [
        "fetch",
        "curl",
        "python",
    ]
