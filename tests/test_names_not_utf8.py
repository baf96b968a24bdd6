"""Names whose bytes are not UTF-8 (a folder a tool made, or pushed past validation): every verb
reports each one as itself and none of them crashes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.factories.registries import add_version, edit_manifest
from tests.helpers import commit_all, git, run, validate_json

BAD = ("x\udcff", "x\udcfe")  # the bytes 0xff and 0xfe, as Python reads such file names
SHOWN = {"models/x\\xff", "models/x\\xfe"}


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    """alpha@1.0.0, then two copies of its model under names not in UTF-8, with aliases."""
    root = tmp_path / "registry"
    root.mkdir()
    (root / "registry.yaml").write_text("name: bytes\n")
    add_version(root, "alpha", "1.0.0")
    commit_all(root, "alpha")
    for name in BAD:
        shutil.copytree(root / "models/alpha", root / "models" / name)
        (root / "models" / name / "aliases.yaml").write_text("aliases:\n  stable: 1.0.0\n")
    commit_all(root, "pushed past validation")
    return root


def test_every_report_names_each_folder_as_itself(registry: Path, tmp_path: Path) -> None:
    code, report = validate_json(registry)
    assert code == 1
    named = {f["file"] for f in report["findings"] if f["code"] == "security.non-ascii-name"}
    assert named == SHOWN  # read as U+FFFD by any JSON reader, both were one name
    assert {v["path"] for v in report["versions"]} >= {f"{name}/1.0.0" for name in SHOWN}
    summary = tmp_path / "summary.md"
    code, out, err = run("validate", "--root", registry, "--format", "github", "--summary", summary)
    assert code == 1, err
    assert all(name in out for name in SHOWN)
    assert "x\\xff@1.0.0" in summary.read_text(encoding="utf-8")
    for shard in ("1/2", "2/2"):
        code, _, err = run("validate", "--root", registry, "--shard", shard)
        assert code in (0, 1), err


def test_text_reports_print_on_a_strict_utf8_output(registry: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "registry", "--quiet", "validate", "--root", str(registry)],
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        capture_output=True,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert b"models/x\\xff" in done.stdout and b"models/x\\xfe" in done.stdout


def test_a_pull_request_against_a_base_holding_such_names(registry: Path) -> None:
    code, _, err = run("validate", "--root", registry, "--changed-since", "HEAD~1")
    assert code == 1, err
    edit_manifest(registry, BAD[0], "1.0.0", description="Changed after publication.")
    code, _, err = run("validate", "--root", registry, "--base", "HEAD")
    assert code == 1, err
    shutil.rmtree(registry / "models" / BAD[1])
    code, _, err = run("validate", "--root", registry, "--base", "HEAD")
    assert code == 1, err


@pytest.mark.parametrize("inside", [False, True], ids=["top", "subfolder"])
def test_a_registry_in_a_folder_named_not_in_utf8(tmp_path: Path, inside: bool) -> None:
    top = tmp_path / "top\udcff"
    root = top / "registry\udcfe" if inside else top
    root.mkdir(parents=True)
    (root / "registry.yaml").write_text("name: bytes\nbase_url: https://models.example.org/\n")
    add_version(root, "alpha", "1.0.0")
    git(top, "init", "-q", "-b", "main")
    commit_all(top, "alpha")
    code, _, err = run("validate", "--root", root)
    assert code == 0, err
    code, _, err = run("build", "--root", root, "--out", tmp_path / "site")
    assert code == 0, err
    assert (tmp_path / "site/v1/models/alpha/1.0.0/index.json").is_file()


def test_a_name_not_in_utf8_and_its_ascii_look_alike_stay_two(registry: Path) -> None:
    """`x\\xff` written in ASCII (refused for its backslash) reads like the byte 0xff in a report;
    the findings of the two folders are never merged into one, nor given to each other."""
    twin = registry / "models" / "x\\xff"
    shutil.copytree(registry / "models" / BAD[0], twin)
    commit_all(registry, "the look-alike")
    for folder in (registry / "models" / BAD[0], twin):
        model = next(p for p in (folder / "1.0.0").iterdir() if p.suffix == ".tflite")
        model.write_bytes(model.read_bytes() + b"\0")
    code, report = validate_json(registry, "--base", "HEAD")
    assert code == 1
    changed = [f["file"] for f in report["findings"] if f["code"] == "history.file-changed"]
    assert len(changed) == 2, changed
