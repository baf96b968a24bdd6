"""The catalog's home page in headless Chromium (Debian's chromium driven by Playwright), served
over local HTTP: filters over every version's flags with counts, sort, search over versions and
publishers, the state in the URL (reload, back button, clear), and where the data comes from
(v1/search.json; without it the index pages; from file:// the page's own copy)."""

from __future__ import annotations

import contextlib
import json
import shutil
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.factories.manifests import VALID_REAL_MODELS
from tests.factories.registries import add_report, add_version, new_registry
from tests.helpers import commit_all, run, serve_site, without_search

pytestmark = pytest.mark.browser
BY_NAME = ["alpha-audio", "beta-keyword", "delta-iris", "gamma-nmp"]
BY_UPDATE = ["beta-keyword", "alpha-audio", "gamma-nmp", "delta-iris"]  # the latest first
BY_SIZE = ["delta-iris", "beta-keyword", "gamma-nmp", "alpha-audio"]  # the smallest first


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four models; alpha-audio's older version (1.0.0) alone has a flag (drift); the index is
    paginated (3 a page), so that reading it without search.json takes two pages."""
    config = "name: catalog\nindex_page_size: 3\n"
    root = new_registry(tmp_path_factory.mktemp("catalog") / "registry", config)
    acme = {"name": "Acme Research", "email": "models@acme.example"}
    add_version(root, "delta-iris", "0.3.0", VALID_REAL_MODELS["logreg_iris.onnx"])
    add_version(root, "alpha-audio", "1.0.0", VALID_REAL_MODELS["silero_vad.onnx"], publisher=acme)
    commit_all(root, "delta and alpha", "2025-01-10T10:00:00Z")
    add_version(root, "alpha-audio", "1.1.0", VALID_REAL_MODELS["silero_vad.onnx"], publisher=acme)
    add_version(root, "gamma-nmp", "1.0.0", VALID_REAL_MODELS["nmp.onnx"])
    commit_all(root, "alpha 1.1.0 and gamma", "2025-02-10T10:00:00Z")
    drift = {
        "kind": "drift",
        "measured_at": "2025-03-10T06:00:00Z",
        "drift_score": 0.3,  # over tier-1's 0.15: a flag on alpha-audio 1.0.0 only
        "window": "7d",
        "monitor": "evidently 0.4",
    }
    add_report(root, "alpha-audio", "1.0.0", "2025-03-10-drift.yaml", drift)
    commit_all(root, "alpha 1.0.0 drifts", "2025-03-10T10:00:00Z")
    add_version(root, "beta-keyword", "2.7.3", VALID_REAL_MODELS["okay_nabu.tflite"])
    commit_all(root, "beta", "2025-04-10T10:00:00Z")
    code, out, err = run("build", "--root", root, "--out", root / "site")
    assert code == 0, out + err
    return root / "site"


@pytest.fixture(scope="module")
def served(built: Path) -> Iterator[str]:
    yield from serve_site(built)


@pytest.fixture(scope="module")
def served_without_search(built: Path) -> Iterator[str]:
    """The same site with v1/search.json deleted."""
    yield from serve_site(without_search(built))


class Watched:
    """A page with its console errors (CSP violations among them), script errors and requests."""

    def __init__(self, browser: Any) -> None:
        self.page = browser.new_page()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        self.page.on("request", lambda request: self.requests.append(request.url))

    def _console(self, message: Any) -> None:
        # Chromium asks the server's root for /favicon.ico when a page names no icon: outside
        # the site (served from a sub-path), so not its error.
        if urllib.parse.urlsplit(message.location.get("url", "")).path == "/favicon.ico":
            return
        if message.type == "error" or "Content Security" in message.text:
            self.errors.append(f"{message.text} {message.location.get('url', '')}")

    def open(self, url: str) -> None:
        self.page.goto(url)
        self.page.wait_for_selector("#filters:not([hidden])")

    def settled(self) -> None:
        """Until the catalog has answered the last change (its list is aria-busy meanwhile)."""
        self.page.wait_for_selector("#models:not([aria-busy])", state="attached")

    def visible(self) -> list[str]:
        """The names of the cards shown, in their order on the page."""
        self.settled()
        return self.page.eval_on_selector_all(  # type: ignore[no-any-return]
            "#models li[data-name]",
            "items => items.filter(i => !i.hidden).map(i => i.dataset.name)",
        )

    def options(self, field: str) -> list[str]:
        self.settled()
        return self.page.eval_on_selector_all(  # type: ignore[no-any-return]
            f"select[data-field={field}] option", "options => options.map(o => o.textContent)"
        )

    def controls(self) -> dict[str, str]:
        return self.page.evaluate(  # type: ignore[no-any-return]
            """() => Object.fromEntries(
                [...document.querySelectorAll('#filters input, #filters select')]
                  .map(c => [c.dataset.param, c.value]).filter(([, v]) => v))"""
        )

    def query(self) -> str:
        return self.page.evaluate("() => location.search")  # type: ignore[no-any-return]

    def count(self) -> str:
        self.settled()
        return self.page.text_content("#count") or ""


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:
    watched = Watched(browser)
    yield watched
    watched.page.close()


def test_a_flag_of_an_older_version_is_offered_with_its_count(
    served: str, watched: Watched
) -> None:
    watched.open(served + "index.html")
    assert watched.visible() == BY_NAME
    assert watched.count() == "4 of 4"
    assert watched.options("flags") == ["any (4)", "drift (1)"]
    assert watched.options("format") == ["any (4)", "onnx (3)", "tflite (1)"]
    assert watched.options("framework") == [
        "any (4)",
        "pytorch (1)",
        "scikit-learn (1)",
        "tensorflow (2)",
    ]
    watched.page.select_option("select[data-field=flags]", "drift")
    assert watched.visible() == ["alpha-audio"]
    assert watched.count() == "1 of 4"
    assert watched.query() == "?flag=drift"
    # the counts of the other filters are of the models the chosen ones leave
    assert watched.options("format") == ["any (1)", "onnx (1)", "tflite (0)"]
    watched.page.select_option("select[data-field=format]", "tflite")
    assert watched.visible() == []
    assert watched.page.is_visible("#empty")
    assert watched.options("flags") == ["any (1)", "drift (0)"]
    assert watched.errors == []


def test_sort_by_name_update_and_size(served: str, watched: Watched) -> None:
    watched.open(served + "index.html")
    watched.page.select_option("select#sort", "updated")
    assert watched.visible() == BY_UPDATE
    assert watched.query() == "?sort=updated"
    watched.page.select_option("select#sort", "size")
    assert watched.visible() == BY_SIZE
    watched.page.fill("#search", "onnx")  # sorted and filtered
    assert watched.visible() == [n for n in BY_SIZE if n != "beta-keyword"]
    watched.page.select_option("select#sort", "name")
    assert watched.visible() == [n for n in BY_NAME if n != "beta-keyword"]
    assert watched.query() == "?q=onnx"
    assert watched.errors == []


def test_search_finds_a_version_number_and_a_publisher(served: str, watched: Watched) -> None:
    watched.open(served + "index.html")
    watched.page.fill("#search", "2.7.3")  # beta-keyword's only version
    assert watched.visible() == ["beta-keyword"]
    watched.page.fill("#search", "1.0.0")  # alpha-audio's older version, gamma-nmp's only one
    assert watched.visible() == ["alpha-audio", "gamma-nmp"]
    watched.page.fill("#search", "acme")  # alpha-audio's publisher, Acme Research
    assert watched.visible() == ["alpha-audio"]
    watched.page.fill("#search", "ACME research")
    assert watched.visible() == ["alpha-audio"]
    watched.page.press("#search", "Enter")  # no submission (the CSP has form-action 'none')
    assert watched.visible() == ["alpha-audio"]
    assert watched.errors == []


def test_the_state_is_in_the_url_reload_and_back_restore_it(served: str, watched: Watched) -> None:
    page = watched.page
    watched.open(served + "index.html?format=onnx&sort=size")  # a shared link
    assert watched.controls() == {"format": "onnx", "sort": "size"}
    assert watched.visible() == ["delta-iris", "gamma-nmp", "alpha-audio"]
    page.select_option("select[data-field=license]", "MIT")
    page.fill("#search", "a")
    page.fill("#search", "acme")  # one step of the history, however many keystrokes
    assert watched.visible() == ["alpha-audio"]
    assert watched.query() == "?q=acme&format=onnx&license=MIT&sort=size"
    page.reload()
    page.wait_for_selector("#filters:not([hidden])")
    assert watched.controls() == {"q": "acme", "format": "onnx", "license": "MIT", "sort": "size"}
    assert watched.visible() == ["alpha-audio"]
    page.go_back()
    assert watched.controls() == {"format": "onnx", "license": "MIT", "sort": "size"}
    assert watched.visible() == ["delta-iris", "alpha-audio"]
    page.go_back()
    assert watched.controls() == {"format": "onnx", "sort": "size"}
    assert watched.visible() == ["delta-iris", "gamma-nmp", "alpha-audio"]
    page.go_forward()
    assert watched.controls() == {"format": "onnx", "license": "MIT", "sort": "size"}
    assert watched.errors == []


def test_clear_resets_search_filters_and_sort(served: str, watched: Watched) -> None:
    watched.open(served + "index.html?q=audio&flag=drift&sort=updated")
    assert watched.visible() == ["alpha-audio"]
    assert watched.page.is_enabled("button.clear")
    watched.page.click("button.clear")
    assert watched.controls() == {"sort": "name"}
    assert watched.visible() == BY_NAME
    assert watched.count() == "4 of 4"
    assert watched.query() == ""
    assert watched.page.is_disabled("button.clear")
    assert watched.page.evaluate("() => document.activeElement.id") == "search"
    watched.page.go_back()  # clearing is a step of the history too
    assert watched.visible() == ["alpha-audio"]
    assert watched.errors == []


def test_a_shared_link_naming_an_unknown_value_matches_nothing(
    served: str, watched: Watched
) -> None:
    watched.open(served + "index.html?tag=gone&sort=nonsense")
    assert watched.controls() == {"tag": "gone", "sort": "name"}
    assert watched.options("tags")[-1] == "gone (0)"
    assert watched.visible() == []
    assert watched.errors == []


def test_badges_say_what_they_are(served: str, watched: Watched) -> None:
    watched.open(served + "index.html")
    badges = watched.page.eval_on_selector_all(
        "li[data-name=alpha-audio] .badge", "badges => badges.map(b => b.textContent.trim())"
    )
    assert {"format: onnx", "framework: pytorch", "license: MIT", "status: active"} <= set(badges)
    assert watched.page.text_content("li[data-name=alpha-audio] .muted") == (
        "by Acme Research · updated 2025-03-10 · 2.3 MB"
    )
    assert watched.errors == []


def test_the_data_comes_from_search_json(served: str, watched: Watched) -> None:
    watched.open(served + "index.html")
    watched.page.wait_for_load_state("networkidle")
    data = [url for url in watched.requests if "/v1/" in url]
    assert data == [served + "v1/search.json"]  # read once, shared by the workers
    # one worker reads it, two parse it: catalog.js itself, started by the page
    assert [w.url for w in watched.page.workers] == [served + "static/catalog.js"] * 3
    assert watched.errors == []


@contextlib.contextmanager
def served_variant(built: Path, name: str, search: str) -> Iterator[str]:
    """A copy of the site whose v1/search.json is `search`, served until the block ends."""
    copy = built.parent / name
    shutil.copytree(built, copy)
    (copy / "v1/search.json").write_text(search, encoding="utf-8")
    yield from serve_site(copy)


def _search_text(built: Path) -> str:
    return (built / "v1/search.json").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def served_misleading(built: Path) -> Iterator[str]:
    """The same site with gamma-nmp's (the last model's) intended use ending in '},{': the
    bytes '},{"' of a cut between two models, inside a string."""
    doc = json.loads(_search_text(built))
    gamma = next(m for m in doc["models"] if m["name"] == "gamma-nmp")
    gamma["intended_use"] += " },{"
    text = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert text.count('},{"') == 4  # three cuts between the four models, one inside a string
    with served_variant(built, "misleading", text) as served:
        yield served


def test_a_cut_inside_a_string_is_refused_and_the_data_read_again(
    served_misleading: str, watched: Watched
) -> None:
    # the ~3 kB document arrives in one read from a loopback server: the first cut tried is
    # the last '},{"', the one inside gamma-nmp's string
    watched.open(served_misleading + "index.html")
    assert watched.visible() == BY_NAME
    assert watched.count() == "4 of 4"
    watched.page.fill("#search", "},{")
    assert watched.visible() == ["gamma-nmp"]
    data = [url for url in watched.requests if "/v1/" in url]
    # shared reading gave up at the cut JSON.parse refused; one worker read it the careful way
    assert data == [served_misleading + "v1/search.json"] * 2
    assert watched.errors == []


def _fake(built: Path) -> str:
    """alpha-audio as the registry does not have it, as search.json's text."""
    doc = json.loads(_search_text(built))
    fake = {**doc["models"][0], "intended_use": "planted by an attacker"}
    assert fake["name"] == "alpha-audio"
    return json.dumps(fake, sort_keys=True, separators=(",", ":"))


@pytest.mark.parametrize("where", ["nested before", "a second key"])
def test_models_that_are_not_the_documents_own_are_not_shown(
    built: Path, watched: Watched, where: str
) -> None:
    """A reader taking the first '"models":[' it meets would list a fake alpha-audio that
    JSON.parse does not give as the document's "models" (an empty list here); the page reads
    the index pages instead, which list the registry's four. Cards shown while the data arrived
    (the fake among them) are replaced, never kept for later."""
    fake = _fake(built)
    if where == "nested before":
        text = '{"api_version":"1","count":0,"decoy":{"models":[' + fake + ']},"models":[]}'
    else:
        text = '{"models":[' + fake + '],"api_version":"1","count":0,"models":[]}'
    assert json.loads(text)["models"] == []
    with served_variant(built, "decoy-" + where.replace(" ", "-"), text) as served:
        watched.open(served + "index.html")
        assert watched.visible() == BY_NAME
        card = watched.page.text_content("li[data-name=alpha-audio]") or ""
        real = json.loads(_search_text(built))["models"][0]["intended_use"]
        assert "planted" not in card and real in card, card
        watched.page.fill("#search", "planted")
        assert watched.visible() == []
        data = [url for url in watched.requests if "/v1/" in url]
        assert data[-2:] == [served + "v1/index.json", served + "v1/index/2.json"]
    assert watched.errors == []


def test_a_damaged_search_document_still_lists_and_searches(built: Path, watched: Watched) -> None:
    """Wrong types (a list written as a string, a time as a number), a flag named after an
    object's property, a byte-order mark and a repeated model: the page neither stops nor
    reads through the prototype chain."""
    doc = json.loads(_search_text(built))
    delta = next(m for m in doc["models"] if m["name"] == "delta-iris")
    delta.update(versions="0.3.0", tags="vision", updated=20250101, flags=["constructor"])
    doc["models"].append(dict(doc["models"][0]))  # alpha-audio twice
    text = "\ufeff" + json.dumps(doc, sort_keys=True, separators=(",", ":"))
    with served_variant(built, "damaged", text) as served:
        watched.open(served + "index.html")
        assert watched.visible() == ["alpha-audio", "alpha-audio", *BY_NAME[1:]]
        assert watched.count() == "5 of 5"
        watched.page.fill("#search", "iris")
        assert watched.visible() == ["delta-iris"]
        title = watched.page.get_attribute("li[data-name=delta-iris] .flag", "title")
        assert title == "constructor, in one of its versions"
        data = [url for url in watched.requests if "/v1/" in url]
        assert data == [served + "v1/search.json"]  # read once, shared: the BOM is skipped
    assert watched.errors == []


def test_values_nested_deep_are_neither_held_nor_sent(built: Path, watched: Watched) -> None:
    """A value nested 10,000 deep parses, but stops String() and the copy of a message between
    workers: one in a field the catalog does not use (gamma-nmp's "extra"), one in a text it
    searches (beta-keyword's summary). The page reads, sorts and searches as ever."""
    doc = json.loads(_search_text(built))
    by_name = {model["name"]: model for model in doc["models"]}
    by_name["gamma-nmp"]["extra"] = "@deep@"
    by_name["beta-keyword"]["summary"] = "@deep@"
    deep = "[" * 10_000 + "]" * 10_000
    text = json.dumps(doc, sort_keys=True, separators=(",", ":")).replace('"@deep@"', deep)
    with served_variant(built, "deep", text) as served:
        watched.open(served + "index.html?sort=size")
        assert watched.visible() == BY_SIZE
        watched.page.fill("#search", "iris")
        assert watched.visible() == ["delta-iris"]
        data = [url for url in watched.requests if "/v1/" in url]
        assert data == [served + "v1/search.json"]
    assert watched.errors == []


# Installed before the page's scripts: a browser (or a policy) that refuses every worker, and
# one whose workers cannot start (their script is not found).
REFUSED = "window.Worker = function () { throw new DOMException('refused', 'SecurityError'); };"
MISSING = """(() => {
  const Real = window.Worker;
  window.Worker = function (url) { return new Real(url + '.missing'); };
})();"""


@pytest.mark.parametrize("broken", [REFUSED, MISSING], ids=["refused", "missing"])
def test_without_workers_the_page_reads_and_searches_itself(
    served: str, watched: Watched, broken: str
) -> None:
    watched.page.add_init_script(broken)
    watched.open(served + "index.html?sort=size")
    assert watched.visible() == BY_SIZE
    watched.page.fill("#search", "acme")
    assert watched.visible() == ["alpha-audio"]
    watched.page.fill("#search", "")
    watched.page.select_option("select[data-field=flags]", "drift")
    assert watched.visible() == ["alpha-audio"]
    assert watched.options("format") == ["any (1)", "onnx (1)", "tflite (0)"]
    data = [url for url in watched.requests if "/v1/" in url]
    assert data == [served + "v1/search.json"]  # the page's own read: the workers made none
    # no error but the browser's reports of the missing worker scripts
    assert all("catalog.js.missing" in error for error in watched.errors), watched.errors


def test_without_search_json_the_index_pages_serve(
    served_without_search: str, watched: Watched
) -> None:
    served = served_without_search
    watched.open(served + "index.html?q=nmp")  # gamma-nmp: on the index's second page
    assert watched.visible() == ["gamma-nmp"]
    data = [url for url in watched.requests if "/v1/" in url]
    assert data == [served + "v1/search.json", served + "v1/index.json", served + "v1/index/2.json"]
    watched.page.fill("#search", "")
    assert watched.options("flags") == ["any (4)", "drift (1)"]  # of the older version too
    watched.page.select_option("select[data-field=flags]", "drift")
    assert watched.visible() == ["alpha-audio"]
    watched.page.click("button.clear")
    watched.page.select_option("select#sort", "size")
    assert watched.visible() == BY_SIZE
    watched.page.select_option("select#sort", "updated")
    assert watched.visible() == BY_UPDATE
    # no error but the browser's report of the 404 of search.json (in the page's console
    # when the page reads the data, in the worker's when the worker does)
    assert all("404" in error for error in watched.errors), watched.errors


def test_from_a_file_url_the_pages_own_copy_serves(built: Path, watched: Watched) -> None:
    watched.open((built / "index.html").as_uri() + "?q=acme")
    assert watched.visible() == ["alpha-audio"]
    watched.page.select_option("select#sort", "size")
    watched.page.fill("#search", "")
    assert watched.visible() == BY_SIZE
    assert [url for url in watched.requests if "/v1/" in url] == []
    assert watched.errors == []


def test_the_search_document_carries_what_the_catalog_sorts_by(built: Path) -> None:
    search = json.loads((built / "v1/search.json").read_text())
    alpha = next(m for m in search["models"] if m["name"] == "alpha-audio")
    assert alpha["flags"] == ["drift"] and alpha["latest"] == "1.1.0"
    assert alpha["updated"] == "2025-03-10T10:00:00Z"  # the drift report of 1.0.0
    assert alpha["size"] == VALID_REAL_MODELS["silero_vad.onnx"].path.stat().st_size
