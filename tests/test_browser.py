"""The HTML catalog in headless Chromium (Debian's chromium driven by Playwright), served over
local HTTP: search, filters, navigation, and hostile manifest text kept inert."""

from __future__ import annotations

import json
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from registry.build.site.docs import build_docs
from tests.factories.manifests import VALID_REAL_MODELS, dump_manifest, manifest_data
from tests.factories.onnx_models import MATMUL_IO, matmul_reading
from tests.factories.registries import write_version
from tests.helpers import PROJECT, commit_all, run, serve_site, sha256_of

pytestmark = pytest.mark.browser
HOSTILE = (
    "Looks harmless. <script>alert('script')</script> "
    "<img src=x onerror=\"alert('img')\"> [click me](javascript:alert('link')) "
    "</script><script>alert('breakout')</script> <a href=\"javascript:alert(1)\">raw</a>"
)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("registry")
    shutil.copytree(PROJECT / "models", root / "models")
    shutil.copy(PROJECT / "registry.yaml", root / "registry.yaml")
    model = VALID_REAL_MODELS["okay_nabu.tflite"]
    data = manifest_data(model, "xss-probe", "1.0.0")
    data["description"] = HOSTILE
    data["intended_use"] = "Wake word detector. <script>alert('use')</script> <b>bold?</b>"
    data["lineage"] = {"datasets": [{"name": "evil", "url": "https://example.org/data"}]}
    data["publisher"]["url"] = "https://example.org/"
    write_version(root, data, model.path)
    # committed after the examples' governance reviews were approved (2025-02-01)
    commit_all(root, "examples and a hostile manifest", "2025-06-01T12:00:00+00:00")
    site = root / "site"
    code, _, err = run("build", "--root", root, "--out", site)
    assert code == 0, err
    yield from serve_site(root / "site")


@pytest.fixture(scope="module")
def payload_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("payloads")
    (root / "registry.yaml").write_text("name: payloads\n")
    _payload_version(root)
    commit_all(root, "a model whose bytes are also a page")
    code, _, err = run("build", "--root", root, "--out", root / "site")
    assert code == 0, err
    yield from serve_site(root / "site")


PAYLOAD = b"<html><body><script>alert('file')</script><svg onload=alert('svg')></svg></body></html>"


def _payload_version(root: Path) -> None:
    """A valid ONNX model whose bytes, and whose external weights, are also an HTML page."""
    model = matmul_reading("weights")
    model.doc_string = PAYLOAD.decode()
    folder = root / "models/html-probe/1.0.0"
    folder.mkdir(parents=True)
    weights = PAYLOAD.ljust(64, b" ")[:64]
    (folder / "weights").write_bytes(weights)
    (folder / "model.onnx").write_bytes(model.SerializeToString())
    data = manifest_data(VALID_REAL_MODELS["okay_nabu.tflite"], "html-probe", "1.0.0")
    data.update(MATMUL_IO, format="onnx")
    data["artifact"] = {
        "path": "model.onnx",
        "sha256": sha256_of(folder / "model.onnx"),
        "size": (folder / "model.onnx").stat().st_size,
        "external_data": [{"path": "weights", "sha256": sha256_of(folder / "weights"), "size": 64}],
    }
    (folder / "manifest.yaml").write_text(dump_manifest(data))


DOCS_PAYLOAD = (
    "<script>alert('docs')</script>\n\n<img src=x onerror=\"alert('img')\">\n\n"
    "[click me](javascript:alert('link'))\n"
)


@pytest.fixture(scope="module")
def docs_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The project's documentation built by MkDocs, plus one page of raw HTML that validation
    would refuse: built here directly, to test the CSP that is the last line behind it."""
    root = tmp_path_factory.mktemp("docs")
    shutil.copy(PROJECT / "mkdocs.yml", root / "mkdocs.yml")
    shutil.copytree(PROJECT / "docs", root / "docs")
    (root / "docs/hostile.md").write_text("# Hostile\n\n" + DOCS_PAYLOAD)
    build_docs(root, root / "site", 0, "")
    yield from serve_site(root / "site")


def _record(dialogs: list[str], dialog: object) -> None:
    dialogs.append(dialog.message)  # type: ignore[attr-defined]
    dialog.dismiss()  # type: ignore[attr-defined]


def _visible_models(page: object) -> list[str]:
    return page.eval_on_selector_all(  # type: ignore[attr-defined, no-any-return]
        "#models li[data-name]", "items => items.filter(i => !i.hidden).map(i => i.dataset.name)"
    )


def test_search_filter_navigate_and_fetch_sbom(served: str, browser: object) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    dialogs: list[str] = []
    page.on("dialog", lambda d: _record(dialogs, d))
    page.goto(served + "index.html")
    page.wait_for_selector("#filters:not([hidden])")
    assert _visible_models(page) == ["iris-mlp", "keyword-dense", "tiny-convnet", "xss-probe"]
    page.fill("#search", "softmax")  # a word of keyword-dense's description only
    assert _visible_models(page) == ["keyword-dense"]
    page.fill("#search", "")
    page.select_option("select[data-field=format]", "onnx")
    assert _visible_models(page) == ["iris-mlp"]
    assert page.text_content("#count") == "1 of 4"
    page.click("text=iris-mlp")
    page.wait_for_url("**/models/iris-mlp/index.html")
    page.click("a[href='1.1.0/index.html']")
    page.wait_for_url("**/models/iris-mlp/1.1.0/index.html")
    assert "features" in page.text_content("table.io")
    with page.expect_response("**/sbom.spdx.json") as response_info:
        page.click("text=SPDX 2.3")
    document = json.loads(response_info.value.text())
    assert document["spdxVersion"] == "SPDX-2.3"
    assert document["name"] == "iris-mlp@1.1.0"
    assert dialogs == []
    page.close()


def test_hostile_manifest_text_stays_inert(served: str, browser: object) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    dialogs: list[str] = []
    page.on("dialog", lambda d: _record(dialogs, d))
    for url in ("models/xss-probe/1.0.0/index.html", "index.html"):
        page.goto(served + url)
        page.wait_for_load_state("load")
        page.wait_for_timeout(300)
        scripts = page.eval_on_selector_all(
            "script", "nodes => nodes.map(n => n.getAttribute('src') || n.type)"
        )
        expected = (
            ["../../../static/catalog.js"]
            if "xss" in url
            else ["application/json", "static/catalog.js"]
        )
        assert scripts == expected, url
        assert page.query_selector_all("img") == []
        assert page.query_selector_all("[onerror]") == []
        assert page.query_selector_all("a[href^='javascript:' i]") == []
        assert page.query_selector_all("b") == []
    body = page.text_content("body") or ""
    assert "Wake word detector. <script>" in body  # shown as text, not run
    page.goto(served + "models/xss-probe/1.0.0/index.html")
    description = page.inner_html("section.description")
    assert "&lt;script&gt;" in description and "<script" not in description
    assert dialogs == []
    page.close()


def test_no_published_file_runs_a_script(payload_site: str, browser: object) -> None:
    """Every kind of file the site publishes, opened in Chromium from the registry's origin,
    on a plain static server that sends no special header (as GitHub Pages): a model file whose
    bytes are an HTML page is not rendered as one, and nothing else runs either."""
    page = browser.new_page()  # type: ignore[attr-defined]
    dialogs: list[str] = []
    page.on("dialog", lambda d: _record(dialogs, d))
    record = json.loads(_get(payload_site + "v1/models/html-probe/1.0.0/index.json"))
    files = [record["artifact"], *record["artifact"]["external_data"]]
    urls = [payload_site + "v1/models/html-probe/1.0.0/" + f["href"] for f in files]
    assert all("/artifacts/sha256/" in url and not url.endswith(".onnx") for url in urls)
    urls += [
        payload_site + relative
        for relative in (
            "v1/index.json",
            "v1/models/html-probe/1.0.0/index.json",
            "v1/models/html-probe/1.0.0/sbom.spdx.json",
            "v1/models/html-probe/1.0.0/sbom.spdx3.json",
            "v1/models/html-probe/1.0.0/sbom.cdx.json",
            "v1/models/html-probe/1.0.0/chunks.json",
            "v1/events.json",
            "v1/openapi.yaml",
            "feed.xml",
            "metrics.prom",
            "_headers",
        )
    ]
    for url in urls:
        try:
            page.goto(url)
            page.wait_for_timeout(200)
        except Exception as exc:  # noqa: BLE001 - a download is not a page: nothing can run
            assert "Download is starting" in str(exc), (url, exc)
    assert dialogs == []
    page.close()


def _get(url: str) -> str:
    with urllib.request.urlopen(url) as response:  # noqa: S310 - http on loopback
        return str(response.read().decode())


def test_docs_pages_run_the_theme_and_nothing_else(docs_site: str, browser: object) -> None:
    """Every page of the documentation: the theme's scripts run (its search finds a page) with
    no CSP violation; a page's own script, event handler or javascript: link does not run."""
    page = browser.new_page()  # type: ignore[attr-defined]
    dialogs: list[str] = []
    violations: list[str] = []
    page.on("dialog", lambda d: _record(dialogs, d))
    page.on(
        "console", lambda m: violations.append(m.text) if "Content Security" in m.text else None
    )
    pages = ["index.html", "security.html", "reference/manifest.html", "deploying.html"]
    for name in pages:
        page.goto(docs_site + name)
        page.wait_for_load_state("networkidle")
    assert violations == [], violations
    page.goto(docs_site + "index.html")
    page.fill("input[data-md-component=search-query]", "polyglot")
    page.wait_for_selector(".md-search-result__item", timeout=10_000)
    page.goto(docs_site + "hostile.html")
    page.wait_for_timeout(300)
    page.click("text=click me")
    page.wait_for_timeout(300)
    assert dialogs == []
    assert violations, "the hostile page's script was not even attempted"
    page.close()
