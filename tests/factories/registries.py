"""Registries in temporary folders: version folders written from manifests, edited in place,
reports beside them (pre-commit's testing/fixtures.py is the model: small builders that each do
one thing to a tree)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from tests.factories.manifests import VALID_REAL_MODELS, RealModel, dump_manifest, manifest_data

# The model of the versions `add_version` writes unless told otherwise: a real TFLite file.
NMP = VALID_REAL_MODELS["nmp.tflite"]


def new_registry(root: Path, config: str = "name: tests\n") -> Path:
    """`root` (made if missing) with a registry.yaml of `config`; returns `root`."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "registry.yaml").write_text(config)
    return root


def write_version(
    root: Path, data: dict[str, Any], model_file: Path | None = None, text: str | None = None
) -> Path:
    """models/<name>/<version>/ with the manifest (data, or raw text) and a copy of the model."""
    folder = root / "models" / str(data["model_name"]) / str(data["version"])
    folder.mkdir(parents=True, exist_ok=True)
    if model_file is not None:
        shutil.copyfile(model_file, folder / data["artifact"]["path"])
    (folder / "manifest.yaml").write_text(text if text is not None else dump_manifest(data))
    return folder


def add_version(
    root: Path, name: str, version: str, /, model: RealModel = NMP, **fields: Any
) -> Path:
    """name@version: a copy of `model` and its correct manifest, with `fields` set over it."""
    data = manifest_data(model, name, version)
    data.update(fields)
    return write_version(root, data, model.path)


def manifest_path(root: Path, name: str, version: str) -> Path:
    return root / "models" / name / version / "manifest.yaml"


def edit_manifest(root: Path, name: str, version: str, /, **fields: Any) -> None:
    """Set `fields` in name@version's manifest (the rest as it was)."""
    path = manifest_path(root, name, version)
    data = yaml.safe_load(path.read_text())
    data.update(fields)
    path.write_text(dump_manifest(data))


def add_report(root: Path, name: str, version: str, filename: str, data: dict[str, Any]) -> None:
    """reports/<filename> of name@version, written from `data`."""
    folder = root / "models" / name / version / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / filename).write_text(yaml.safe_dump(data, sort_keys=False))
