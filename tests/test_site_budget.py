"""A site that serves its own model files stays within its host's limits (limits.site)."""

from __future__ import annotations

from pathlib import Path

from tests.factories.manifests import VALID_REAL_MODELS
from tests.factories.registries import add_version, new_registry
from tests.helpers import commit_all, run, tree_digest

SILERO = VALID_REAL_MODELS["silero_vad.onnx"]  # 2.2 MiB
NMP = VALID_REAL_MODELS["nmp.tflite"]  # 0.2 MiB


def _registry(root: Path, limits: str) -> Path:
    new_registry(root, f"name: budget\n{limits}")
    add_version(root, "vad", "1.0.0", model=SILERO)
    add_version(root, "vad", "1.0.1", model=SILERO)  # the same bytes: stored, and counted, once
    add_version(root, "pitch", "1.0.0", model=NMP)
    commit_all(root, "three versions")
    return root


def test_within_the_budget_the_build_publishes(tmp_path: Path) -> None:
    root = _registry(tmp_path / "r", "limits:\n  site:\n    max_mb: 3\n    max_file_mb: 3\n")
    code, out, err = run("build", "--root", root, "--out", tmp_path / "site")
    assert code == 0, out + err


def test_a_file_over_the_budget_fails_before_writing(tmp_path: Path) -> None:
    root = _registry(tmp_path / "r", "")
    site = tmp_path / "site"
    assert run("build", "--root", root, "--out", site)[0] == 0
    before = tree_digest(site)
    (root / "registry.yaml").write_text("name: budget\nlimits:\n  site:\n    max_file_mb: 2\n")
    commit_all(root, "a smaller host")
    code, _, err = run("build", "--root", root, "--out", site)
    assert code == 1
    assert "1 model file(s) over the 2 MiB a file may have" in err
    assert "2.2 MiB  vad@1.0.0: silero_vad.onnx" in err
    assert "artifacts.store" in err and "docs/storage.md" in err
    assert "Traceback" not in err
    assert tree_digest(site) == before


def test_the_total_over_the_budget_names_the_largest_files(tmp_path: Path) -> None:
    root = _registry(tmp_path / "r", "limits:\n  site:\n    max_mb: 2\n")
    code, _, err = run("build", "--root", root, "--out", tmp_path / "site")
    assert code == 1
    assert "2.4 MiB of model files, over the site's budget of 2 MiB" in err
    largest = [line.strip() for line in err.splitlines() if " MiB  " in line]
    assert largest == ["2.2 MiB  vad@1.0.0: silero_vad.onnx", "0.2 MiB  pitch@1.0.0: nmp.tflite"]
    assert not (tmp_path / "site").exists()
