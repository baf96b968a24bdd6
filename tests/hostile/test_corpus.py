"""The hostile corpus: every case is refused with its own finding, names the file, stays within its
limits, writes nothing outside its temporary folder, and publishes nothing."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

from registry.formats import handlers
from tests.factories.attacks import CANARY, loaders_that_run
from tests.helpers import commit_all, run, validate_json
from tests.hostile.cases import CASES, SANDBOX_PLUGIN, Case, _sandbox, _version

TIME_LIMIT = 60  # seconds for one validation: far above the sandbox's own limits in these cases


@pytest.fixture
def sandbox_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The `hostile` test format, installed the way a plugin package would be."""
    site = tmp_path / "plugin-site"
    (site / "hostile_format").mkdir(parents=True)
    (site / "hostile_format/__init__.py").write_text(SANDBOX_PLUGIN)
    dist = site / "hostile_format-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: hostile-format\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[modelreg.formats]\nhostile = hostile_format:Hostile\n")
    monkeypatch.syspath_prepend(str(site))
    handlers.cache_clear()
    yield
    handlers.cache_clear()


@pytest.fixture
def contained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Temporary files and HOME inside the test's folder, so leftovers can be seen."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    CANARY.unlink(missing_ok=True)
    yield scratch
    assert not CANARY.exists(), "a payload wrote outside the test's folder"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_input_is_refused(
    case: Case, tmp_path: Path, contained: Path, request: pytest.FixtureRequest
) -> None:
    if case.config:
        request.getfixturevalue("sandbox_plugin")
    root = tmp_path / "registry"
    root.mkdir()
    (root / "registry.yaml").write_text("name: hostile corpus\n" + case.config)
    case.build(root)
    commit_all(root, "a hostile submission")
    started = time.monotonic()
    code, report = validate_json(root)
    elapsed = time.monotonic() - started
    assert code == case.exit_code, report["findings"]
    matching = [f for f in report["findings"] if f["code"] == case.code]
    assert matching, [f["code"] for f in report["findings"]]
    assert any(case.file in f["file"] for f in matching), matching
    assert all(f["message"] for f in matching)
    assert elapsed < TIME_LIMIT
    assert list(contained.iterdir()) == [], "the sandbox left files behind"
    site = tmp_path / "site"
    code, _, err = run("build", "--root", root, "--out", site)
    assert code == 1 and "nothing was published" in err
    assert not site.exists()
    if case.fetched:
        _assert_never_fetched(root, tmp_path)
    if case.loaders:  # the attack is real: what the registry refused runs code when loaded
        artifact = next(p for p in (root / "models/hostile/1.0.0").iterdir() if p.suffix != ".yaml")
        assert set(case.loaders) <= set(loaders_that_run(artifact))


def _assert_never_fetched(root: Path, tmp_path: Path) -> None:
    """A site built with --allow-invalid leaves the version out: fetch finds nothing to label
    verified, and writes nothing."""
    site = tmp_path / "allowed-site"
    code, _, err = run("build", "--root", root, "--out", site, "--allow-invalid")
    assert code == 0, err
    target = tmp_path / "fetched"
    code, _, err = run("fetch", "hostile@1.0.0", "--registry", site, "--to", target)
    assert code == 1 and "verified" not in err, err
    assert not target.exists() or list(target.iterdir()) == []


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40
    assert len({c.name for c in CASES}) == len(CASES)


def test_sandbox_sees_no_secrets(
    tmp_path: Path, contained: Path, sandbox_plugin: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_not_for_models")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "nope")
    root = tmp_path / "registry"
    root.mkdir()
    _sandbox("env")(root)
    code, report = validate_json(root)
    assert code == 0, report["findings"]
    assert report["versions"][0]["model_info"]["producer"] == "clean"
    code, out, _ = run("inspect", "--json", root / "models/hostile/1.0.0/model.hostile")
    assert json.loads(out)["producer"] == "clean"


def test_hostile_description_is_published_inert(tmp_path: Path, contained: Path) -> None:
    root = tmp_path / "registry"
    root.mkdir()
    (root / "registry.yaml").write_text("name: html\n")
    from tests.factories.manifests import VALID_REAL_MODELS

    payload = (
        "<script>alert(1)</script><img src=x onerror=alert(2)> "
        "[x](javascript:alert(3)) </script><script>alert(4)</script>"
    )

    def change(data: dict[str, object]) -> None:
        data["description"] = payload
        data["intended_use"] = "Keyword spotting. </script><script>alert(5)</script>"

    _version(
        root, VALID_REAL_MODELS["nmp.tflite"].path.read_bytes(), "nmp.tflite", "tflite", change
    )
    commit_all(root, "html payloads")
    site = tmp_path / "site"
    code, _, err = run("build", "--root", root, "--out", site)
    assert code == 0, err
    for page in (site / "index.html", site / "models/hostile/1.0.0/index.html"):
        elements = _Elements()
        elements.feed(page.read_text())
        scripts = [a.get("src") or a.get("type") for tag, a in elements.found if tag == "script"]
        assert all(
            s in ("application/json",) or str(s).endswith("static/catalog.js") for s in scripts
        ), scripts
        assert not [tag for tag, _ in elements.found if tag == "img"]
        assert not [a for _, a in elements.found if any(k.startswith("on") for k in a)]
        assert not [
            a
            for tag, a in elements.found
            if tag == "a" and str(a.get("href", "")).lower().startswith("javascript:")
        ]


class _Elements(HTMLParser):
    """Every start tag of a page with its attributes, as a browser's parser would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))
