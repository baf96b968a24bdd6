"""The package as users install it: a wheel built here, installed into a fresh virtual environment
with only what `pip install modelreg[onnx]` brings (no build extra), offline, validates an ONNX
registry."""

from __future__ import annotations

import importlib.metadata as metadata
import os
import re
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from tests.helpers import PROJECT, commit_all

pytestmark = pytest.mark.slow


def _requirement_names(requires: list[str], extras: set[str]) -> set[str]:
    """The distributions these Requires-Dist lines name for `extras` (markers evaluated)."""
    from packaging.requirements import Requirement

    names = set()
    for text in requires:
        requirement = Requirement(text)
        environment = {"extra": ""}
        wanted = requirement.marker is None or any(
            requirement.marker.evaluate({**environment, "extra": extra}) for extra in extras | {""}
        )
        if wanted:
            names.add(requirement.name)
    return names


def _wheel_requires(wheel: Path) -> list[str]:
    """Requires-Dist of the wheel just built (the project's own, not an older install's)."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        text = archive.read(name).decode()
    return [
        line.split(":", 1)[1].strip()
        for line in text.splitlines()
        if line.startswith("Requires-Dist:")
    ]


def _closure(wheel: Path, extras: set[str]) -> set[str]:
    """Every distribution `modelreg[extras]` needs, transitively (without modelreg itself)."""
    pending = _requirement_names(_wheel_requires(wheel), extras)
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen or key == "modelreg":
            continue
        seen.add(key)
        pending |= _requirement_names(metadata.requires(name) or [], set())
    return seen


def _link_distributions(names: set[str], into: Path) -> None:
    """Make exactly these installed distributions importable from `into` (links to their files):
    what an offline install of them would give, without a package index."""
    into.mkdir(parents=True)
    for name in names:
        distribution = metadata.distribution(name)
        for entry in distribution.files or []:
            top = entry.parts[0]
            if top.endswith((".pth",)) or top == ".." or (into / top).exists():
                continue
            source = Path(str(distribution.locate_file(top)))
            if source.exists():
                (into / top).symlink_to(source)


@pytest.fixture(scope="module")
def fresh_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("packaging")
    wheels = folder / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--quiet",
            "--wheel-dir",
            str(wheels),
            str(PROJECT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("modelreg-*.whl")
    environment = folder / "venv"
    venv.create(environment, with_pip=False)
    site = next((environment / "lib").glob("python3*/site-packages"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            "--quiet",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    dependencies = folder / "dependencies"
    _link_distributions(_closure(wheel, {"onnx"}), dependencies)
    (site / "dependencies.pth").write_text(f"{dependencies}\n")
    return environment / "bin" / "python"


def test_validate_runs_without_the_build_extra(fresh_python: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [str(fresh_python), "-c", "import jinja2"], capture_output=True, text=True, check=False
    )
    assert done.returncode != 0, "the fresh environment must not have the build extra"
    root = tmp_path / "registry"
    shutil.copytree(PROJECT / "models/iris-mlp", root / "models/iris-mlp")
    shutil.copy(PROJECT / "registry.yaml", root / "registry.yaml")
    shutil.copy(PROJECT / "mkdocs.yml", root / "mkdocs.yml")
    shutil.copytree(PROJECT / "docs", root / "docs")
    commit_all(root, "an ONNX model and its documentation")
    environment = {**os.environ, "MODELREG_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run(
        [str(fresh_python), "-m", "registry", "validate", "--root", str(root)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env=environment,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "internal error" not in done.stderr
    assert "docs.unchecked" in done.stdout  # said, not a crash: the pages need the build extra
