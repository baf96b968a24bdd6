"""Benchmark: the catalog's home page at scale (issue 19, target 7), in headless Chromium.

    python scripts/bench_catalog.py [--models 100000] [--repeat 5] [--keep DIR]

Writes v1/index.json (and its pages v1/index/<n>.json) and v1/search.json for a synthetic catalog
with the build's own code (registry.build.site.indexes), beside the rest of a real build of the
example registry (index.html, static/), serves it on loopback and prints, each with the 1 s
target: the sizes of search.json and of the index pages, the time to the first rendered result
cards (from navigation start), the time of a search (from the last keystroke until the results
changed), the same for the index pages when search.json is missing, and the floor measured in
the same page: a bare fetch() + JSON.parse of the same documents.
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "scripts"))  # screenshots: the loopback server

from registry.build import paths  # noqa: E402
from registry.build.catalog import (  # noqa: E402
    Catalog,
    CommitRef,
    ModelEntry,
    PublishedVersion,
    VersionDates,
)
from registry.build.site.indexes import (  # noqa: E402
    index_document,
    index_page_document,
    search_document,
)
from registry.build.site.registrypages import home_page, page_context  # noqa: E402
from registry.build.site.writer import dumps  # noqa: E402
from registry.governance.policy import Decision, Verdict  # noqa: E402
from registry.load.config import RegistryConfig  # noqa: E402
from registry.load.manifest import Artifact, Manifest  # noqa: E402
from registry.load.manifest_fields import Publisher  # noqa: E402
from registry.load.yamlsafe import LoadedYaml  # noqa: E402
from registry.signing.verify import SignatureResult  # noqa: E402
from screenshots import serve  # noqa: E402

CHROMIUM = "/usr/bin/chromium"  # Debian's, driven by Playwright (never `playwright install`)
TARGET = 1.0  # seconds, for every browser figure
QUERY = "resnet"  # what the benchmark types: matches a few percent of the models
FIRST_CARDS = "#models[data-shown] li[data-name]"  # rendered by catalog.js (not the server's)

FAMILIES = [
    "resnet",
    "bert",
    "whisper",
    "yolo",
    "mobilenet",
    "llama",
    "t5",
    "vit",
    "clip",
    "efficientnet",
    "wav2vec",
    "gpt2",
    "distilbert",
    "unet",
    "deberta",
    "convnext",
    "silero",
    "fasttext",
    "xgboost",
    "lstm",
]
TASKS = [
    "classifier",
    "detector",
    "segmenter",
    "embedder",
    "tagger",
    "ranker",
    "asr",
    "vad",
    "keyword",
    "ocr",
    "translator",
    "summarizer",
    "forecaster",
    "scorer",
]
DOMAINS = [
    "retail",
    "audio",
    "medical",
    "fraud",
    "search",
    "vision",
    "speech",
    "text",
    "iot",
    "finance",
    "support",
    "legal",
]
FORMATS = [
    ("onnx", "pytorch"),
    ("onnx", "scikit-learn"),
    ("onnx", "onnx"),
    ("tflite", "tensorflow"),
    ("torchscript", "pytorch"),
    ("onnx", "tensorflow"),
]
LICENSES = ["Apache-2.0", "MIT", "BSD-3-Clause", "CC-BY-4.0", "MPL-2.0", "LicenseRef-internal"]
TAGS = [
    "vision",
    "audio",
    "nlp",
    "tabular",
    "edge",
    "quantized",
    "int8",
    "fp16",
    "streaming",
    "batch",
    "multilingual",
    "english",
    "gpu",
    "cpu",
    "mobile",
    "server",
    "experimental",
    "production",
    "pii-free",
    "distilled",
    "fine-tuned",
    "baseline",
    "benchmark",
    "realtime",
]
PUBLISHERS = [
    f"{team} {unit}"
    for team in (
        "Acme",
        "Globex",
        "Initech",
        "Umbrella",
        "Hooli",
        "Stark",
        "Wayne",
        "Tyrell",
        "Cyberdyne",
        "Soylent",
    )
    for unit in ("Research", "Vision Lab", "Speech Team", "Platform", "Applied ML")
]
WORDS = [
    "model",
    "trained",
    "on",
    "curated",
    "data",
    "for",
    "production",
    "use",
    "with",
    "calibrated",
    "thresholds",
    "monitored",
    "weekly",
    "against",
    "drift",
    "robust",
    "to",
    "noise",
    "evaluated",
    "on",
    "held",
    "out",
    "sets",
    "across",
    "regions",
    "and",
    "devices",
    "exported",
    "for",
    "low",
    "latency",
    "inference",
]


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def _time(rng: random.Random) -> str:
    day = rng.randrange(0, 700)
    return f"2024-{1 + day // 60 % 12:02d}-{1 + day % 28:02d}T{day % 24:02d}:00:00Z"


def _version(
    rng: random.Random, name: str, version: str, text: tuple[str, str]
) -> PublishedVersion:
    fmt, framework = text[0].split("/")
    flags = (
        ("drift",) if rng.random() < 0.03 else ("evaluation-failed",) if rng.random() < 0.01 else ()
    )
    verdict: Verdict = (
        "block" if rng.random() < 0.005 else "review" if rng.random() < 0.05 else "allow"
    )
    manifest = Manifest(
        file=Path(f"models/{name}/{version}/manifest.yaml"),
        schema_version="1.1",
        model_name=name,
        version=version,
        format=fmt,
        framework_name=framework,
        framework_version="2.3.1",
        artifact=Artifact(sha256=f"{rng.getrandbits(256):064x}", size=rng.randrange(10**4, 10**9)),
        inputs=(),
        outputs=(),
        license=rng.choice(LICENSES),
        risk_tier=rng.choice(("tier-1", "tier-2", "tier-2", "tier-3", "tier-3")),
        status="deprecated" if rng.random() < 0.05 else "active",
        intended_use=text[1],
        publisher=Publisher(name=rng.choice(PUBLISHERS)),
        data={},
        loaded=LoadedYaml({}, {}),
        description=_sentence(rng, rng.randrange(8, 60)),
        tags=tuple(sorted(rng.sample(TAGS, rng.randrange(0, 5)))),
    )
    commit = CommitRef(sha=f"{rng.getrandbits(160):040x}", author="bench", timestamp=_time(rng))
    return PublishedVersion(
        manifest=manifest,
        model_info=None,
        findings=(),
        history=VersionDates(published=commit, updated=commit),
        decision=Decision(decision=verdict, tier=manifest.risk_tier, flags=flags),
        signature=SignatureResult(present=True, verified=True) if rng.random() < 0.3 else None,
    )


def model_names(count: int) -> list[str]:
    """`count` distinct names such as resnet-fraud-detector-00042, in sorted order."""
    rng = random.Random(7)  # noqa: S311 (synthetic data, no secret)
    names = {
        f"{rng.choice(FAMILIES)}-{rng.choice(DOMAINS)}-{rng.choice(TASKS)}-{i:05d}"
        for i in range(count)
    }
    return sorted(names)


def synthetic_catalog(count: int, seed: int = 19) -> Catalog:
    """A catalog of `count` models, a third of them with several versions, with the fields a
    build fills (formats, licenses, tags, flags, decisions, signatures, commit times)."""
    rng = random.Random(seed)  # noqa: S311 (synthetic data, no secret)
    models = []
    for name in model_names(count):
        fmt = "/".join(rng.choice(FORMATS))
        use = f"{name.split('-')[2].capitalize()} for {name.split('-')[1]}: {_sentence(rng, 12)}"
        releases = rng.choice((1, 1, 1, 1, 2, 2, 3, 5))
        versions = tuple(
            _version(rng, name, f"{1 + n // 3}.{n % 3}.0", (fmt, use)) for n in range(releases)
        )
        models.append(ModelEntry(name=name, versions=versions))
    config = replace(RegistryConfig(), name="Synthetic registry")
    return Catalog(
        config=config, commit=None, generated_at="2025-01-01T00:00:00Z", models=tuple(models)
    )


def write_indexes(site: Path, catalog: Catalog) -> dict[str, int]:
    """v1/index.json, its pages, v1/search.json and the home page (index.html) as the build
    writes them; their sizes."""
    sizes = {"index": 0, "pages": 0}
    index = index_document(catalog)
    _write(site / paths.INDEX_JSON, dumps(index))
    sizes["index"] = (site / paths.INDEX_JSON).stat().st_size
    shutil.rmtree(site / "v1/index", ignore_errors=True)
    pages = index["pages"]["count"]
    for number in range(1, pages + 1) if pages > 1 else ():
        target = site / paths.index_page(number)
        _write(target, dumps(index_page_document(catalog, number, pages)))
        sizes["pages"] += target.stat().st_size
    search = search_document(catalog)
    _write(site / paths.SEARCH_JSON, dumps(search))
    sizes["search"] = (site / paths.SEARCH_JSON).stat().st_size
    stamped = {**page_context(catalog, True), "commit": None, "generated_at": catalog.generated_at}
    _write(site / paths.HOME_PAGE, home_page(index, search, stamped))
    sizes["home"] = (site / paths.HOME_PAGE).stat().st_size
    sizes["page_count"] = pages
    return sizes


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def small_site(out: Path) -> Path:
    """A real build of the example registry (index.html, static/, v1/...) into `out`."""
    command = [sys.executable, "-m", "registry", "build", "--root", str(PROJECT), "--out", str(out)]
    subprocess.run(command, check=True, cwd=PROJECT, capture_output=True)
    return out


# Installed before the page's own scripts: the times (from navigation start) at which the first
# cards catalog.js rendered and the search box appeared with the answer for every model (the
# list no longer aria-busy: the engine in its worker has answered), taken in the page when the
# DOM changed, as the floor is timed in the page (Playwright's polling and round trips would add
# to them).
WATCH = """(() => {
  const marks = window.__catalogTimes = {};
  const watcher = new MutationObserver(() => {
    if (marks.first === undefined && document.querySelector('__FIRST_CARDS__')) {
      marks.first = performance.now();
    }
    if (marks.ready === undefined &&
        document.querySelector('#filters:not([hidden])') &&
        document.querySelector('#models:not([aria-busy])')) {
      marks.ready = performance.now();
    }
    if (marks.ready !== undefined && marks.first !== undefined) { watcher.disconnect(); }
  });
  watcher.observe(document, {subtree: true, childList: true, attributes: true});
})();""".replace("__FIRST_CARDS__", FIRST_CARDS)

BARE_FETCH = """async (urls) => {
  const start = performance.now();
  let models = 0;
  for (const url of urls) {
    const doc = JSON.parse(await (await fetch(url, {cache: 'no-store'})).text());
    models += doc.models.length;
  }
  return [performance.now() - start, models];
}"""
# Types `query` one character at a time, as input events; the time of the last keystroke,
# from just before it until catalog.js replaced the cards (a mutation of the list: the count
# may say the same as before) and a frame was painted.
SEARCH = """async (query) => {
  const box = document.getElementById('search');
  const list = document.getElementById('models');
  const type = (text) => {
    box.value = text;
    box.dispatchEvent(new Event('input', {bubbles: true}));
  };
  for (let n = 1; n < query.length; n++) { type(query.slice(0, n)); }
  let changed = false;
  const observer = new MutationObserver(() => { changed = true; });
  observer.observe(list, {childList: true});
  const start = performance.now();
  type(query);
  while (!changed && performance.now() - start < 30000) {
    await new Promise(r => setTimeout(r, 1));
  }
  observer.disconnect();
  await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
  return [performance.now() - start, document.getElementById('count').textContent];
}"""


def measure(browser: Any, base: str, floor: list[str], repeat: int) -> dict[str, list[float]]:
    """Each figure `repeat` times (ms), in a fresh context each time (no HTTP cache): the first
    cards catalog.js rendered and the search box shown (all data read), both from navigation
    start; a search; the bare fetch()+JSON.parse of the `floor` documents in the same page."""
    figures: dict[str, list[float]] = {"first": [], "ready": [], "search": [], "fetch": []}
    for _ in range(repeat):
        context = browser.new_context()
        context.add_init_script(WATCH)
        page = context.new_page()
        page.goto(base + "index.html", wait_until="commit")
        page.wait_for_function("() => window.__catalogTimes.ready !== undefined", timeout=120_000)
        marks = page.evaluate("() => window.__catalogTimes")
        figures["first"].append(float(marks["first"]))
        figures["ready"].append(float(marks["ready"]))
        took, found = page.evaluate(SEARCH, QUERY)
        figures["search"].append(float(took))
        names = page.eval_on_selector_all(
            "#models li[data-name]", "l => l.map(i => i.dataset.name)"
        )
        assert names and all(QUERY in name for name in names), (found, names[:5])
        bare, _ = page.evaluate(BARE_FETCH, [base + url for url in floor])
        figures["fetch"].append(float(bare))
        context.close()
    return figures


def _row(name: str, values: list[float], floor: list[float] | None) -> str:
    best = min(values) / 1000
    spread = f"{min(values) / 1000:.3f}-{max(values) / 1000:.3f}"
    met = "met" if best < TARGET else "MISSED"
    beside = f"{min(floor) / 1000:8.3f}" if floor else f"{'':8}"
    return f"{name:46} {best:7.3f} {spread:>13} {beside} {TARGET:6.1f}  {met}"


def report(title: str, figures: dict[str, list[float]], repeat: int) -> None:
    print(f"\n{title}: seconds, best of {repeat} and spread; floor = a bare fetch()+JSON.parse")
    print(
        f"of the same documents in the same page\n{'':46} {'best':>7} {'spread':>13} "
        f"{'floor':>8} {'target':>6}"
    )
    print(_row("first result cards (from navigation start)", figures["first"], figures["fetch"]))
    print(_row("search box shown, every model read", figures["ready"], figures["fetch"]))
    print(_row(f"search {QUERY!r}: last keystroke to results", figures["search"], None))
    print(_row("floor: bare fetch()+JSON.parse", figures["fetch"], None))


def run(models: int, repeat: int, keep: Path | None) -> dict[str, dict[str, list[float]]]:
    """Print both tables; the figures (ms) from search.json and from the index pages."""
    from playwright.sync_api import sync_playwright

    scratch = keep or Path(tempfile.mkdtemp(prefix="bench-catalog-"))
    site = scratch / "site"
    if not (site / "index.html").exists():
        small_site(site)
    # the working tree's catalog.js and style (a kept site may come from an older build)
    shutil.copytree(PROJECT / "registry/build/site/static", site / paths.STATIC, dirs_exist_ok=True)
    start = time.perf_counter()
    catalog = synthetic_catalog(models)
    sizes = write_indexes(site, catalog)
    versions = sum(len(m.versions) for m in catalog.models)
    print(
        f"{models} models, {versions} versions: indexes written by the build's own code "
        f"in {time.perf_counter() - start:.1f} s"
    )
    print(f"index.html         {sizes['home'] / 1e6:7.1f} MB")
    print(f"v1/search.json     {sizes['search'] / 1e6:7.1f} MB")
    print(f"v1/index.json      {sizes['index'] / 1e6:7.1f} MB (page 1)")
    print(f"v1/index/<n>.json  {sizes['pages'] / 1e6:7.1f} MB in {sizes['page_count']} pages")
    pages = [paths.INDEX_JSON] + [paths.index_page(n) for n in range(2, sizes["page_count"] + 1)]
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    with sync_playwright() as playwright, serve(scratch) as base:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        found = {"search": measure(browser, base + "site/", [paths.SEARCH_JSON], repeat)}
        report("From v1/search.json", found["search"], repeat)
        moved = site / paths.SEARCH_JSON
        away = moved.with_suffix(".away")
        moved.rename(away)
        try:
            found["pages"] = measure(browser, base + "site/", pages, repeat)
            report("Without search.json: v1/index.json and its pages", found["pages"], repeat)
        finally:
            away.rename(moved)
        browser.close()
    if keep is None:
        shutil.rmtree(scratch, ignore_errors=True)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--models", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the site in this folder")
    args = parser.parse_args(argv)
    run(args.models, args.repeat, args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
