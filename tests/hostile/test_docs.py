"""The documentation is code: what `mkdocs.yml` and docs/ may hold, checked by `validate` before
MkDocs reads them, and a site whose built pages run no script but the theme's."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry.validate.docs import check_docs
from tests.factories.manifests import VALID_REAL_MODELS, manifest_data
from tests.factories.registries import write_version
from tests.helpers import PROJECT, commit_all, error_codes, run, validate_json

SAFE_CONFIG = "site_name: docs\ntheme:\n  name: material\n  font: false\n"


def _docs(tmp_path: Path, config: str, pages: dict[str, str | bytes] | None = None) -> Path:
    (tmp_path / "mkdocs.yml").write_text(config)
    for name, text in (pages or {"index.md": "# Docs\n"}).items():
        page = tmp_path / "docs" / name
        page.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            page.write_bytes(text)
        else:
            page.write_text(text)
    return tmp_path


def _codes(root: Path) -> list[str]:
    return [f.code for f in check_docs(root)]


def test_the_projects_own_docs_pass() -> None:
    assert check_docs(PROJECT) == []


@pytest.mark.parametrize(
    "config",
    [
        "site_name: x\nhooks:\n  - evil.py\n",
        "INHERIT: ../../elsewhere.yml\nsite_name: x\n",
        "site_name: x\nextra_javascript:\n  - x.js\n",
        "site_name: x\ntheme:\n  name: material\n  custom_dir: overrides\n",
        "site_name: x\ntheme:\n  name: my-own-theme\n",
        "site_name: x\nplugins:\n  - search\n  - macros\n",
        "site_name: x\nmarkdown_extensions:\n  - pymdownx.snippets:\n      base_path: /\n",
        "site_name: x\nrepo_url: javascript:alert(1)\n",
        "site_name: x\ndocs_dir: ../elsewhere\n",
    ],
)
def test_config_that_runs_or_reads_code_is_refused(tmp_path: Path, config: str) -> None:
    assert _codes(_docs(tmp_path, config)) == ["mkdocs.config.unsafe"]


@pytest.mark.parametrize(
    "config",
    [
        "site_name: !!python/object/apply:os.system ['touch pwned']\n",
        "site_name: x\nsite_url: !ENV [HOME]\n",
        "site_name: x\nmarkdown_extensions:\n  - toc:\n      slugify: !!python/name:os.system\n",
    ],
)
def test_yaml_tags_are_refused_before_mkdocs_reads_them(tmp_path: Path, config: str) -> None:
    codes = _codes(_docs(tmp_path, config))
    assert codes and all(c.startswith("yaml.") for c in codes), codes
    assert not (tmp_path / "pwned").exists()


def test_well_known_configuration_is_accepted(tmp_path: Path) -> None:
    config = (
        SAFE_CONFIG
        + "  features: [navigation.sections]\n"
        + "repo_url: https://example.org/registry\nedit_uri: edit/main/docs/\n"
        + "plugins:\n  - search:\n      lang: en\n"
        + "markdown_extensions:\n  - admonition\n  - toc:\n      permalink: true\n"
        + "  - pymdownx.superfences\n"
    )
    assert _codes(_docs(tmp_path, config)) == []


@pytest.mark.parametrize(
    "page",
    [
        "<script>alert(1)</script>\n",
        "Text <script>alert(1)</script> inline.\n",
        '<img src="x" onerror="alert(1)">\n',
        "<iframe src='https://example.org'></iframe>\n",
        "<object data='x.swf'></object>\n",
        "[click](javascript:alert(1))\n",
        "![x](data:text/html;base64,PHNjcmlwdD4=)\n",
        '<a href=" JavaScript:alert(1)">x</a>\n',
        "<svg><script>alert(1)</script></svg>\n",
        "- item\n\n  <script>alert(1)</script>\n",
    ],
)
def test_raw_html_that_runs_is_refused_with_its_line(tmp_path: Path, page: str) -> None:
    root = _docs(tmp_path, SAFE_CONFIG, {"index.md": "# Title\n\n" + page})
    [finding] = check_docs(root)
    assert finding.code == "docs.unsafe-html" and finding.file == "docs/index.md"
    assert finding.line is not None and finding.line >= 3


def test_html_in_code_is_text(tmp_path: Path) -> None:
    page = "Use `<script>` never.\n\n```html\n<script>alert(1)</script>\n```\n\n    <iframe>\n"
    assert _codes(_docs(tmp_path, SAFE_CONFIG, {"index.md": page})) == []


@pytest.mark.parametrize("name", ["x.js", "page.html", "logo.svg", "a/b.xhtml", "x.mjs"])
def test_files_a_browser_runs_are_refused_in_docs(tmp_path: Path, name: str) -> None:
    root = _docs(tmp_path, SAFE_CONFIG, {"index.md": "# x\n", name: "alert(1)"})
    findings = check_docs(root)
    assert [f.code for f in findings] == ["docs.unsafe-html"]
    assert findings[0].file == f"docs/{name}"


def test_images_and_stylesheets_are_accepted(tmp_path: Path) -> None:
    pages: dict[str, str | bytes] = {
        "index.md": "# x\n\n![logo](logo.png)\n",
        "logo.png": b"\x89PNG",
    }
    pages["extra.css"] = "body { color: black; }\n"
    assert _codes(_docs(tmp_path, SAFE_CONFIG + "extra_css: [extra.css]\n", pages)) == []


def test_a_page_that_is_not_utf8_is_a_finding(tmp_path: Path) -> None:
    root = _docs(tmp_path, SAFE_CONFIG, {"index.md": b"# \xff\xfe\n"})
    [finding] = check_docs(root)
    assert "UTF-8" in finding.message


def test_validate_refuses_unsafe_docs_and_build_publishes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    root.mkdir()
    (root / "registry.yaml").write_text("name: docs test\n")
    model = VALID_REAL_MODELS["nmp.tflite"]
    write_version(root, manifest_data(model), model.path)
    _docs(root, SAFE_CONFIG + "hooks:\n  - evil.py\n")
    commit_all(root, "docs that run code")
    code, report = validate_json(root)
    assert code == 1 and "mkdocs.config.unsafe" in error_codes(report)
    code, _, err = run("build", "--root", root, "--out", tmp_path / "site")
    assert code == 1 and "nothing was published" in err
    assert not (tmp_path / "site").exists()
