"""The catalog on phones and desktops, in light and dark, for everyone: no page scrolls sideways
(example site and a site of long names, long dims and many inputs), the docs share the palette
and link back, a skip link, labelled badges, a favicon, and axe-core finds nothing serious.

Headless Chromium (Debian's, driven by Playwright) on the site served over loopback HTTP."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest

from tests.factories.manifests import dump_manifest, file_ref
from tests.helpers import PROJECT, commit_all, run, serve_site

pytestmark = pytest.mark.browser
AXE = PROJECT / ".tools/node_modules/axe-core/axe.min.js"
Scheme = Literal["light", "dark"]
SIZES = {"phone": (390, 844), "desktop": (1366, 900)}
SCHEMES: tuple[Scheme, ...] = ("light", "dark")

# The example registry (this repository): one page of every type, and every version page.
EXAMPLE_PAGES = [
    "index.html",
    "models/iris-mlp/index.html",
    "models/keyword-dense/index.html",
    "models/iris-mlp/1.0.0/index.html",
    "models/iris-mlp/1.1.0/index.html",
    "models/iris-mlp/1.2.0/index.html",
    "models/keyword-dense/2.0.0/index.html",
    "models/tiny-convnet/0.1.0/index.html",
    "timeline.html",
    "lineage.html",
    "docs/index.html",
    "docs/reference/manifest.html",
    "docs/contributing.html",
    "docs/performance.html",
    "docs/storage.html",
]

# Names as long as the schema allows, one without a place to break, and SemVer build metadata.
LONG_NAME = ("unbrokenmodelnamewithoutanyhyphen" * 2)[:64]
LONG_HYPHENATED = ("long-hyphenated-model-name-" * 3)[:63] + "x"
LONG_VERSION = "1.0.0-rc.1+build.very.long.metadata"
LONG_INPUTS = 24
LONG_PAGES = [
    "index.html",
    f"models/{LONG_NAME}/index.html",
    f"models/{LONG_NAME}/{LONG_VERSION}/index.html",
    f"models/{LONG_HYPHENATED}/index.html",
    f"models/{LONG_HYPHENATED}/2.0.0-beta.12+exp.sha.5114f85c0ffee0ddba11/index.html",
    "timeline.html",
    "lineage.html",
]


@pytest.fixture(scope="module")
def example_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The example registry built as `modelreg build` does (catalog and docs)."""
    root = tmp_path_factory.mktemp("example")
    code, _, err = run("build", "--root", PROJECT, "--out", root / "site")
    assert code == 0, err
    yield from serve_site(root / "site")


def _value(name: str, shape: list[Any]) -> Any:
    from onnx import TensorProto, helper

    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def _many_io_onnx(path: Path, count: int) -> dict[str, Any]:
    """An ONNX model of `count` inputs, each passed through to an output, with long tensor names
    and long dims (symbols and large sizes, one of 16 dims); its manifest's I/O."""
    import onnx
    from onnx import helper

    dims: list[Any] = ["batch_size_of_a_rather_long_symbolic_name", 123456789012, "seq_len", 4096]
    shapes = [dims] * (count - 1) + [[*range(1000, 1016)]]
    inputs = [f"input_{i:02d}_with_a_long_descriptive_tensor_name" for i in range(count)]
    outputs = [name.replace("input", "output") for name in inputs]
    graph = helper.make_graph(
        [helper.make_node("Identity", [a], [b]) for a, b in zip(inputs, outputs, strict=True)],
        "many",
        [_value(n, s) for n, s in zip(inputs, shapes, strict=True)],
        [_value(n, s) for n, s in zip(outputs, shapes, strict=True)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(model, path)

    def io(names: list[str]) -> list[dict[str, Any]]:
        return [
            {"name": n, "dtype": "float32", "shape": list(s)}
            for n, s in zip(names, shapes, strict=True)
        ]

    return {"input_shape": io(inputs), "output_schema": io(outputs)}


LONG_DATASET = "dataset-" + "x" * 56


def _long_version(root: Path, name: str, version: str, **lineage: Any) -> None:
    folder = root / "models" / name / version
    io = _many_io_onnx(folder / "model.onnx", LONG_INPUTS)
    data = {
        "schema_version": "1.1",
        "model_name": name,
        "version": version,
        "framework": {"name": "onnx", "version": "1.17.0-with-a-long-local-build-suffix"},
        "format": "onnx",
        "artifact": file_ref(folder, "model.onnx"),
        **io,
        "license": "Apache-2.0 OR MIT OR BSD-3-Clause OR LicenseRef-Long-Proprietary-Terms",
        "intended_use": "A model whose every name is as long as the schema allows " * 3,
        "description": (
            "See https://example.org/a/very/long/path/without/any/break/"
            + "segment" * 20
            + "\n\n```\npython -m something --with-a-very-long-option="
            + "x" * 150
            + "\n```\n"
        ),
        "publisher": {"name": "A publisher with a long name", "email": "p" * 40 + "@example.org"},
        "authors": [{"name": "Author " + "Longname" * 8}],
        "risk_tier": "tier-1",
        "tags": ["tag-" + "t" * 46, "another-rather-long-tag", "short"],
        "lineage": {
            "datasets": [{"name": LONG_DATASET, "url": "https://example.org/" + "y" * 90}],
            **lineage,
        },
        "metrics": [{"name": "metric_" + "m" * 50, "value": 0.123456789, "dataset": LONG_DATASET}],
    }
    (folder / "manifest.yaml").write_text(dump_manifest(data))


@pytest.fixture(scope="module")
def long_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A registry of long names, long versions, long dims and many inputs and outputs."""
    root = tmp_path_factory.mktemp("long")
    (root / "registry.yaml").write_text(
        "name: A registry whose name is much longer than a phone is wide, on purpose\n"
    )
    _long_version(root, LONG_NAME, LONG_VERSION)
    _long_version(
        root,
        LONG_HYPHENATED,
        "2.0.0-beta.12+exp.sha.5114f85c0ffee0ddba11",
        base_model=f"{LONG_NAME}@{LONG_VERSION}",
    )
    (root / "models" / LONG_NAME / "aliases.yaml").write_text(
        f'{"a" + "-alias" * 10}: "{LONG_VERSION}"\n'
    )
    commit_all(root, "long names", "2025-06-01T12:00:00+00:00")
    code, out, err = run("build", "--root", root, "--out", root / "site")
    assert code == 0, err
    index = json.loads((root / "site/v1/index.json").read_text())
    assert sorted(m["name"] for m in index["models"]) == sorted([LONG_NAME, LONG_HYPHENATED]), out
    yield from serve_site(root / "site")


def _open(page: Any, url: str) -> None:
    """Load `url`. The home page and the docs fetch more after `load` (the catalog's index, the
    docs' search): the network settles there; model pages are complete at `load`."""
    page.goto(url)
    if "/models/" not in url:
        page.wait_for_load_state("networkidle")


def _context(browser: Any, size: str, scheme: Scheme = "light", **options: Any) -> Any:
    width, height = SIZES[size]
    return browser.new_context(
        viewport={"width": width, "height": height}, color_scheme=scheme, **options
    )


def _errors(page: Any) -> list[str]:
    """Console errors (CSP violations among them) and failed requests of `page`, as they come."""
    found: list[str] = []
    page.on("console", lambda m: found.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: found.append(str(e)))
    page.on("response", lambda r: found.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    return found


OVERFLOW = "() => document.documentElement.scrollWidth - innerWidth"
# The rows of text in the header: the distinct tops of the lines of its text nodes.
HEADER_ROWS = """() => {
    const header = document.querySelector('header');
    const walker = document.createTreeWalker(header, NodeFilter.SHOW_TEXT);
    const tops = [];
    while (walker.nextNode()) {
        if (!walker.currentNode.textContent.trim()) continue;
        const range = document.createRange();
        range.selectNodeContents(walker.currentNode);
        for (const rect of range.getClientRects()) tops.push(rect.top);
    }
    tops.sort((a, b) => a - b);
    return tops.filter((top, i) => i === 0 || top - tops[i - 1] > 8).length;
}"""


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("which", ["example", "long"])
def test_no_page_scrolls_sideways(
    which: str, size: str, request: pytest.FixtureRequest, browser: Any
) -> None:
    """scrollWidth <= innerWidth on every page type; the header takes two rows at most; no
    console error, CSP violation or missing file on the way."""
    base = request.getfixturevalue(f"{which}_site")
    pages = EXAMPLE_PAGES if which == "example" else LONG_PAGES
    context = _context(browser, size)
    page = context.new_page()
    errors = _errors(page)
    overflow, rows = {}, {}
    for path in pages:
        _open(page, base + path)
        overflow[path] = page.evaluate(OVERFLOW)
        if not path.startswith("docs/"):
            rows[path] = page.evaluate(HEADER_ROWS)
    context.close()
    assert {p: px for p, px in overflow.items() if px > 0} == {}, overflow
    assert {p: n for p, n in rows.items() if n > 2} == {}, rows
    assert errors == []


def _axe(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the loaded page, one line each."""
    page.add_script_tag(path=str(AXE))
    violations: list[dict[str, Any]] = page.evaluate(
        "() => axe.run(document, {resultTypes: ['violations']}).then(r => r.violations)"
    )
    return [
        {"rule": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"][:3]]}
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.npm
@pytest.mark.parametrize(
    ("size", "scheme"),
    # Colours do not depend on the size, and what only a phone shows (boxes that scroll) does
    # not depend on the scheme: three runs cover what the four combinations would.
    [("desktop", "light"), ("desktop", "dark"), ("phone", "dark")],
)
def test_axe_finds_nothing_serious(
    scheme: Scheme, size: str, example_site: str, long_site: str, browser: Any
) -> None:
    """axe-core (the npm package, `make` installs it into .tools/) on every page type, in both
    colour schemes, at both sizes: no serious or critical violation (colour contrast among them).
    """
    assert AXE.is_file(), f"{AXE} is missing: make unit installs it (npm, axe-core)"
    # bypass_csp lets Playwright inject axe-core's script into these test pages only: the
    # site's policy allows no script but its own, as it should for every visitor.
    context = _context(browser, size, scheme, bypass_csp=True)
    page = context.new_page()
    found = {}
    for base, pages in ((example_site, EXAMPLE_PAGES), (long_site, LONG_PAGES)):
        for path in pages:
            _open(page, base + path)
            violations = _axe(page)
            if violations:
                found[path] = violations
    context.close()
    assert found == {}, json.dumps(found, indent=1)


def _rgb(value: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", value)[:3])


def _luminance(rgb: tuple[int, ...]) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else float(((s + 0.055) / 1.055) ** 2.4)

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


COLOURS = """(link) => ({
    bg: getComputedStyle(document.body).backgroundColor,
    fg: getComputedStyle(document.body).color,
    link: getComputedStyle(document.querySelector(link)).color })"""


@pytest.mark.parametrize("scheme", SCHEMES)
def test_dark_mode_and_one_palette(scheme: Scheme, example_site: str, browser: Any) -> None:
    """The colour scheme follows prefers-color-scheme, and the docs use the catalog's palette
    (same page background, text and link colours)."""
    context = _context(browser, "desktop", scheme)
    page = context.new_page()
    colours = {}
    for path, link in (
        ("index.html", "main a"),
        ("models/iris-mlp/1.2.0/index.html", "main a"),
        ("docs/index.html", ".md-content .md-typeset a:not(.headerlink)"),
    ):
        page.goto(example_site + path)
        page.wait_for_load_state("networkidle")
        colours[path] = {k: _rgb(v) for k, v in page.evaluate(COLOURS, link).items()}
    context.close()
    catalog, docs = colours["index.html"], colours["docs/index.html"]
    assert colours["models/iris-mlp/1.2.0/index.html"] == catalog
    assert docs == catalog, colours
    bg, fg = _luminance(catalog["bg"]), _luminance(catalog["fg"])
    assert (bg < 0.05 and fg > 0.6) if scheme == "dark" else (bg > 0.9 and fg < 0.05), catalog


def test_docs_link_back_to_the_catalog(example_site: str, browser: Any) -> None:
    context = _context(browser, "desktop")
    page = context.new_page()
    errors = _errors(page)
    page.goto(example_site + "docs/reference/manifest.html")
    page.wait_for_load_state("networkidle")
    assert page.get_attribute("link[rel=icon]", "href") == "../../static/favicon.svg"
    page.click("nav.md-nav--primary >> text=Catalog")
    page.wait_for_url(example_site + "index.html")
    assert page.text_content("h1") == "modelreg example registry"
    context.close()
    assert errors == []


def test_skip_link_first_and_to_main(example_site: str, browser: Any) -> None:
    context = _context(browser, "phone")
    page = context.new_page()
    page.goto(example_site + "models/iris-mlp/index.html")
    page.keyboard.press("Tab")
    focused = page.evaluate(
        "() => [document.activeElement.className, document.activeElement.textContent,"
        " document.activeElement.getAttribute('href')]"
    )
    assert focused == ["skip-link", "Skip to content", "#main"]
    box = page.locator(".skip-link").bounding_box()
    assert box is not None and box["y"] >= 0, "the focused skip link is on screen"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"
    page.keyboard.press("Tab")  # the next stop is inside main, past the header's links
    assert page.evaluate("() => document.activeElement.closest('main') !== null")
    page.goto(example_site + "index.html")
    assert page.locator(".skip-link").bounding_box()["y"] < 0, "hidden until focused"
    context.close()


def _png_width(path: Path) -> int:
    width: int = struct.unpack(">I", path.read_bytes()[16:20])[0]  # IHDR, after the signature
    return width


def test_favicon_is_served_and_allowed(example_site: str, browser: Any) -> None:
    """Every catalog page links the SVG icon, which loads under the pages' own CSP."""
    context = _context(browser, "desktop")
    page = context.new_page()
    errors = _errors(page)
    for path in ("index.html", "models/iris-mlp/1.2.0/index.html"):
        page.goto(example_site + path)
        href = page.get_attribute("link[rel=icon]", "href")
        assert href is not None and href.endswith("static/favicon.svg")
        csp = page.get_attribute("meta[http-equiv=Content-Security-Policy]", "content") or ""
        assert "unsafe-inline" not in csp and "script-src 'self'" in csp
        # Loaded as an image by the page itself, so its img-src applies as to the icon.
        loaded = page.evaluate(
            """(href) => new Promise(done => { const img = new Image();
            img.onload = () => done(img.naturalWidth > 0); img.onerror = () => done(false);
            img.src = href; })""",
            href,
        )
        assert loaded, path
    context.close()
    assert errors == []


def test_badges_say_what_they_are(example_site: str, browser: Any) -> None:
    """A screen reader hears "format: onnx, framework: onnx", not "onnx onnx": every badge of a
    card or a model page reads differently, and the timeline's badges name the event."""
    context = _context(browser, "desktop")
    page = context.new_page()
    spoken = "(b) => (b.getAttribute('aria-label') || b.textContent).replace(/\\s+/g, ' ').trim()"
    page.goto(example_site + "index.html")
    for card in page.query_selector_all("#models li.card"):
        badges = [b.evaluate(spoken) for b in card.query_selector_all(".badge")]
        assert len(set(badges)) == len(badges), badges
        assert any(b.startswith("format") for b in badges), badges
    page.goto(example_site + "models/iris-mlp/index.html")
    assert page.locator("h1 .badge").evaluate(spoken) == "status: active"
    assert page.locator("ol.timeline .badge").first.evaluate(spoken).startswith("event: ")
    context.close()


@pytest.mark.slow
def test_screenshots_script(tmp_path: Path) -> None:
    """scripts/screenshots.py on a built site: each page type, both sizes, both schemes."""
    site = tmp_path / "site"
    code, _, err = run("build", "--root", PROJECT, "--out", site)
    assert code == 0, err
    out = tmp_path / "shots"
    done = subprocess.run(
        [
            sys.executable,
            str(PROJECT / "scripts/screenshots.py"),
            "--site",
            str(site),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    written = sorted(Path(line) for line in done.stdout.split())
    types = ["home", "model", "version", "timeline", "lineage", "docs", "docs-reference"]
    expected = sorted(
        out / f"{t}-{size}-{scheme}.png" for t in types for size in SIZES for scheme in SCHEMES
    )
    assert written == expected
    for path in written:
        assert _png_width(path) == SIZES["phone" if "-phone-" in path.name else "desktop"][0], path
    shutil.rmtree(out)
