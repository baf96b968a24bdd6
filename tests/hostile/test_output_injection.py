"""What a submission writes cannot forge what the reports and the feed say: one finding per line
in text, no markup in the step summary, no extra command in annotations, a well-formed feed."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from markdown_it import MarkdownIt

from tests.factories.registries import add_version
from tests.helpers import commit_all, run

FORGED = "1 version(s) checked: 0 error(s), 0 warning(s), 0 info — passed"


def _registry(root: Path, **fields: Any) -> Path:
    root.mkdir()
    (root / "registry.yaml").write_text("name: injection\n")
    add_version(root, "victim", "1.0.0", **fields)
    commit_all(root, "a submission")
    return root


def test_a_newline_cannot_forge_a_line_of_the_text_report(tmp_path: Path) -> None:
    root = _registry(tmp_path / "r", license=f"Apache 2\n{FORGED}")
    code, out, _ = run("--quiet", "validate", "--root", root)
    assert code == 1
    lines = out.splitlines()
    assert FORGED not in lines and lines[-1].endswith("FAILED")
    assert next(line for line in lines if "license.invalid" in line).count("\\n") == 1


def test_markdown_in_a_message_stays_text_in_the_step_summary(tmp_path: Path) -> None:
    payload = (
        "MIT ![beacon](https://evil.example/b.png) [click to approve](https://evil.example/a) "
        "<img src=https://evil.example/c> https://evil.example/auto | x `"
    )
    root = _registry(tmp_path / "r", license=payload)
    summary = tmp_path / "summary.md"
    code, out, _ = run(
        "--quiet", "validate", "--root", root, "--format", "github", "--summary", summary
    )
    assert code == 1
    html = MarkdownIt("gfm-like").render(summary.read_text())  # GitHub's flavour, autolinks too
    assert "<img" not in html and 'evil.example/a"' not in html and "<a href" not in html
    assert "evil.example" in html  # shown, as text
    annotations = [line for line in out.splitlines() if line.startswith("::")]
    assert annotations and all("\n" not in a for a in annotations)


def test_a_newline_cannot_add_a_workflow_command(tmp_path: Path) -> None:
    root = _registry(tmp_path / "r", license="MIT\n::error file=README.md::forged\n")
    code, out, _ = run("--quiet", "validate", "--root", root, "--format", "github")
    assert code == 1
    assert not [line for line in out.splitlines() if line.startswith("::error file=README.md")]


def test_control_characters_in_history_leave_the_feed_well_formed(tmp_path: Path) -> None:
    """The feed is made from Git history, which carries what manifests cannot (an author's name
    with control characters): XML cannot hold them, so they are replaced."""
    root = tmp_path / "r"
    _registry(root)
    add_version(root, "victim", "1.1.0")
    commit_all(root, "another version", "2025-02-01T00:00:00+00:00", author="Bell \a Escape \x1b")
    site = tmp_path / "site"
    code, _, err = run("build", "--root", root, "--out", site)
    assert code == 0, err
    text = (site / "feed.xml").read_text()
    feed = ET.fromstring(text)  # noqa: S314 - our own output; raises if ill-formed
    assert "Bell" in ET.tostring(feed, encoding="unicode") and "\a" not in text
