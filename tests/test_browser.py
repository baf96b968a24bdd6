"""The HTML catalog in headless Chromium (Debian's chromium driven by Playwright), served over
local HTTP: search, filters, navigation, and hostile manifest text kept inert."""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import threading
from collections.abc import Iterator

import pytest

from tests.helpers import PROJECT, VALID_REAL_MODELS, commit_all, manifest_data, run, write_version

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
HOSTILE = (
    "Looks harmless. <script>alert('script')</script> "
    "<img src=x onerror=\"alert('img')\"> [click me](javascript:alert('link')) "
    "</script><script>alert('breakout')</script> <a href=\"javascript:alert(1)\">raw</a>"
)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


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
    commit_all(root, "examples and a hostile manifest")
    site = root / "site"
    code, _, err = run("build", "--root", root, "--out", site)
    assert code == 0, err
    # Served from a sub-path (/site/), as on GitHub Pages project sites.
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/site/"
    server.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield instance
        instance.close()


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
