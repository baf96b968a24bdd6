"""The catalog's home page with 20,000 models in headless Chromium: the first page of cards and
the results of a search, filters and sorts are the right ones (computed here from the published
JSON), from v1/search.json read as it arrives and from the index pages without it; and a card
catalog.js renders says what the server-rendered one says. The JSON comes from the build's own
code (registry.build.site.indexes) fed with synthetic models (scripts/bench_catalog.py)."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.helpers import PROJECT, run, serve_site, without_search

pytestmark = pytest.mark.browser
MODELS = 20_000
PAGE = 60  # catalog.js's PAGE: the cards in the DOM at first
# Text that a reader splitting search.json between models must not split inside.
TRICKY = 'says "},{\\"name\\":\\"x\\"}]" and \\ and ] and }, {"a": 1} ✓'


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "bench_catalog", PROJECT / "scripts/bench_catalog.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example registry built as `modelreg build` does."""
    site = tmp_path_factory.mktemp("example") / "site"
    code, _, err = run("build", "--root", PROJECT, "--out", site)
    assert code == 0, err
    return site


@pytest.fixture(scope="module")
def large(small: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same site with the indexes of 20,000 synthetic models; a few of them with text
    full of JSON's delimiters."""
    site = tmp_path_factory.mktemp("large") / "site"
    shutil.copytree(small, site)
    _bench().write_indexes(site, _bench().synthetic_catalog(MODELS))
    search = site / "v1/search.json"
    doc = json.loads(search.read_text())
    for model in doc["models"][:: MODELS // 7]:
        model["intended_use"] = TRICKY
    search.write_text(json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":")))
    return site


@pytest.fixture(scope="module")
def served(large: Path) -> Iterator[str]:
    yield from serve_site(large)


@pytest.fixture(scope="module")
def served_without_search(large: Path) -> Iterator[str]:
    yield from serve_site(without_search(large))


@pytest.fixture(scope="module")
def models(large: Path) -> list[dict[str, Any]]:
    return json.loads((large / "v1/search.json").read_text())["models"]  # type: ignore[no-any-return]


def _haystack(model: dict[str, Any]) -> str:
    parts = [model[k] for k in ("name", "intended_use", "summary", "publisher", "framework")]
    parts += [model["format"], model["license"], *model["tags"], *model["versions"]]
    return " ".join(parts).lower()


def _matching(models: list[dict[str, Any]], query: str, **filters: str) -> list[dict[str, Any]]:
    words = query.lower().split()
    return [
        m
        for m in models
        if all(w in _haystack(m) for w in words)
        and all(v == m[f] or (isinstance(m[f], list) and v in m[f]) for f, v in filters.items())
    ]


def _open(browser: Any, url: str) -> Any:
    page = browser.new_page()
    errors: list[str] = []
    requests: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda request: requests.append(request.url))
    page.goto(url)
    page.wait_for_selector("#filters:not([hidden])", timeout=60_000)
    page.errors = errors
    page.data = lambda: [u.rsplit("/v1/", 1)[1] for u in requests if "/v1/" in u]
    return page


def _settled(page: Any) -> None:
    """Until the catalog has answered the last change (its list is aria-busy meanwhile)."""
    page.wait_for_selector("#models:not([aria-busy])", state="attached", timeout=60_000)


def _names(page: Any) -> list[str]:
    _settled(page)
    return page.eval_on_selector_all(  # type: ignore[no-any-return]
        "#models li[data-name]", "items => items.filter(i => !i.hidden).map(i => i.dataset.name)"
    )


def _count(page: Any) -> str:
    _settled(page)
    return page.text_content("#count") or ""


def test_the_first_page_is_the_first_models_by_name(
    served: str, browser: Any, models: list[dict[str, Any]]
) -> None:
    page = _open(browser, served + "index.html")
    names = sorted(m["name"] for m in models)
    assert _names(page) == names[:PAGE]
    assert _count(page) == f"{MODELS} of {MODELS} (first {PAGE} shown)"
    formats = {m["format"] for m in models}
    options = page.eval_on_selector_all(
        "select[data-field=format] option", "os => os.map(o => o.textContent)"
    )
    assert options == [f"any ({MODELS})"] + [
        f"{f} ({sum(m['format'] == f for m in models)})" for f in sorted(formats)
    ]
    # read once, cut between the three workers (the tricky strings do not fool the cuts)
    assert page.data() == ["search.json"] and len(page.workers) == 3
    page.click("button.more")  # the next page of cards, the keyboard on its first
    assert _names(page) == names[: 2 * PAGE]
    assert page.evaluate("() => document.activeElement.textContent") == names[PAGE]
    assert page.errors == []
    page.close()


def test_a_search_finds_every_match_in_order(
    served: str, browser: Any, models: list[dict[str, Any]]
) -> None:
    page = _open(browser, served + "index.html")
    page.fill("#search", "resnet fraud")
    expected = sorted(m["name"] for m in _matching(models, "resnet fraud"))
    assert 0 < len(expected) < MODELS
    page.wait_for_function(
        f"() => document.getElementById('count').textContent.startsWith('{len(expected)} of')"
    )
    assert _names(page) == expected[:PAGE]
    assert page.evaluate("() => location.search") == "?q=resnet+fraud"
    page.fill("#search", "json's delimiters")  # nothing has it
    page.wait_for_function("() => document.getElementById('count').textContent === '0 of 20000'")
    assert page.is_visible("#empty") and _names(page) == []
    page.fill("#search", '"},{')  # the tricky text, whole
    tricky = sorted(m["name"] for m in models if m["intended_use"] == TRICKY)
    page.wait_for_function(
        f"() => document.getElementById('count').textContent.startsWith('{len(tricky)} of')"
    )
    assert _names(page) == tricky
    assert page.errors == []
    page.close()


def test_filters_and_sort_by_size(served: str, browser: Any, models: list[dict[str, Any]]) -> None:
    page = _open(browser, served + "index.html?format=tflite&flag=drift&sort=size")
    chosen = _matching(models, "", format="tflite", flags="drift")
    chosen.sort(key=lambda m: (m["size"], m["name"]))
    assert _names(page) == [m["name"] for m in chosen][:PAGE]
    assert _count(page).startswith(f"{len(chosen)} of {MODELS}")
    page.select_option("select#sort", "updated")
    chosen.sort(key=lambda m: m["name"])
    chosen.sort(key=lambda m: m["updated"], reverse=True)
    assert _names(page) == [m["name"] for m in chosen][:PAGE]
    assert page.errors == []
    page.close()


def test_without_search_json_the_index_pages_give_the_same(
    served_without_search: str, browser: Any, models: list[dict[str, Any]]
) -> None:
    page = _open(browser, served_without_search + "index.html?q=resnet+fraud")
    expected = sorted(m["name"] for m in _matching(models, "resnet fraud"))
    assert _names(page) == expected[:PAGE]  # the words are in the names: the same matches
    assert _count(page).startswith(f"{len(expected)} of {MODELS}")
    page.fill("#search", "")
    assert _count(page) == f"{MODELS} of {MODELS} (first {PAGE} shown)"
    page.close()


def test_from_a_file_url_the_embedded_first_models_say_there_are_more(
    large: Path, browser: Any
) -> None:
    """From file:// the page reads only its own copy, the first 1,000 models: the note that
    v1/index.json lists the others stays."""
    page = _open(browser, (large / "index.html").as_uri())
    assert _count(page) == f"1000 of 1000 (first {PAGE} shown)"
    assert page.is_visible("#more-models")
    assert page.errors == []
    page.close()


def test_a_rendered_card_says_what_the_server_rendered_one_says(small: Path, browser: Any) -> None:
    """The same cards with and without JavaScript: elements, links, classes, titles, text (the
    whitespace between elements aside)."""
    describe = """items => items.map(card => [...card.querySelectorAll('*')].map(n =>
        [n.tagName, n.className, n.getAttribute('href'), n.getAttribute('title'),
         n.getAttribute('datetime'), n.getAttribute('aria-hidden')].join('|'))
        .concat([card.textContent.replace(/\\s+/g, '')]))"""
    cards = []
    for scripts in (False, True):
        context = browser.new_context(java_script_enabled=scripts)
        page = context.new_page()
        for url in serve_site(small):
            page.goto(url + "index.html")
            if scripts:
                page.wait_for_selector("#models[data-shown]")
            cards.append(page.eval_on_selector_all("#models li[data-name]", describe))
        context.close()
    assert cards[0] == cards[1]
    assert len(cards[0]) >= 3
