"""Test helpers: registries in temporary folders, manifests for real model files, the CLI."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from registry.cli import main

PROJECT = Path(__file__).resolve().parent.parent
REAL_MODELS = PROJECT.parent / "shared" / "real-models"
SPDX3_VALIDATOR = PROJECT.parent / "shared" / "tools" / "spdx3-validate-offline"


def spdx3_validation(path: Path) -> subprocess.Popen[str]:
    """The real spdx3-validate (JSON Schema + SHACL, offline) started on one document: one
    process per file, since it merges the files it is given into one graph. Wait for it with
    `assert_spdx3_valid`."""
    return subprocess.Popen(
        [sys.executable, str(SPDX3_VALIDATOR), str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def assert_spdx3_valid(process: subprocess.Popen[str], what: object = "") -> None:
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 0, (what, output[-3000:])


@dataclass(frozen=True)
class RealModel:
    file: str
    format: str
    framework: dict[str, str]
    inputs: list[dict[str, Any]]
    outputs: list[dict[str, Any]]
    license: str

    @property
    def path(self) -> Path:
        return REAL_MODELS / self.file


def _t(name: str, dtype: str, shape: list[Any] | None) -> dict[str, Any]:
    return {"name": name, "dtype": dtype, "shape": shape}


# What each valid real model's manifest declares: written by hand from the models' documentation,
# so that the tests compare the handlers' extraction with an independent statement.
VALID_REAL_MODELS = {
    "silero_vad.onnx": RealModel(
        "silero_vad.onnx",
        "onnx",
        {"name": "pytorch", "version": "2.3.1"},
        [
            _t("input", "float32", ["batch", "samples"]),
            _t("state", "float32", [2, "batch", 128]),
            _t("sr", "int64", []),
        ],
        [_t("output", "float32", ["batch", 1]), _t("stateN", "float32", [None, None, None])],
        "MIT",
    ),
    "logreg_iris.onnx": RealModel(
        "logreg_iris.onnx",
        "onnx",
        {"name": "scikit-learn", "version": "0.19.1"},
        [_t("float_input", "float32", [3, 2])],
        [_t("label", "int64", [3]), _t("probabilities", "sequence<map<int64,float32>>", None)],
        "MIT",
    ),
    "nmp.onnx": RealModel(
        "nmp.onnx",
        "onnx",
        {"name": "tensorflow", "version": "2.11.0"},
        [_t("serving_default_input_2:0", "float32", ["batch", 43844, 1])],
        [
            _t("StatefulPartitionedCall:2", "float32", ["batch", 172, 88]),
            _t("StatefulPartitionedCall:1", "float32", ["batch", 172, 88]),
            _t("StatefulPartitionedCall:0", "float32", ["batch", 172, 264]),
        ],
        "Apache-2.0",
    ),
    "nmp.tflite": RealModel(
        "nmp.tflite",
        "tflite",
        {"name": "tensorflow", "version": "2.11.0"},
        [_t("serving_default_input_2:0", "float32", [None, 43844, 1])],
        [
            _t("StatefulPartitionedCall:2", "float32", [None, 172, 88]),
            _t("StatefulPartitionedCall:1", "float32", [None, 172, 88]),
            _t("StatefulPartitionedCall:0", "float32", [None, 172, 264]),
        ],
        "Apache-2.0",
    ),
    "okay_nabu.tflite": RealModel(
        "okay_nabu.tflite",
        "tflite",
        {"name": "tensorflow", "version": "2.15.0"},
        [_t("serving_default_input_audio:0", "int8", [1, 3, 40])],
        [_t("StatefulPartitionedCall:0", "uint8", [1, 1])],
        "Apache-2.0",
    ),
    "silero_vad.jit": RealModel(
        "silero_vad.jit",
        "torchscript",
        {"name": "pytorch", "version": "2.3.1"},
        [_t("x", "float32", ["batch", "samples"]), _t("sr", "int64", [])],
        [_t("probability", "float32", ["batch", 1])],
        "MIT",
    ),
}


def cache_index(root: Path) -> Path:
    """The cache index of the registry at `root` (in the test session's cache folder)."""
    from registry.infra.cache import INDEX_NAME, Cache

    return Cache(root, enabled=False).folder / INDEX_NAME


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest_data(
    model: RealModel,
    name: str = "real-model",
    version: str = "1.0.0",
    artifact_name: str | None = None,
) -> dict[str, Any]:
    """A fresh manifest, deep-copied: tests mutate it freely."""
    return copy.deepcopy(
        {
            "schema_version": "1.0",
            "model_name": name,
            "version": version,
            "framework": model.framework,
            "format": model.format,
            "artifact": {
                "path": artifact_name or model.file,
                "sha256": sha256_of(model.path),
                "size": model.path.stat().st_size,
            },
            "input_shape": model.inputs,
            "output_schema": model.outputs,
            "license": model.license,
            "intended_use": "Integration test of the registry with a real third-party model file.",
            "publisher": {"name": "Test Publisher", "email": "publisher@example.org"},
            "risk_tier": "tier-1",
        }
    )


def dump_manifest(data: dict[str, Any]) -> str:
    """YAML in field order; PyYAML quotes every string that could read as another type."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


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


def run(*args: str | Path) -> tuple[int, str, str]:
    """Run the CLI in-process; returns (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse on a usage error
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def validate_json(root: Path, *paths: str | Path) -> tuple[int, dict[str, Any]]:
    code, out, _ = run("validate", "--format", "json", "--root", root, *paths)
    return code, json.loads(out)


def error_codes(report: dict[str, Any]) -> set[str]:
    return {f["code"] for f in report["findings"] if f["severity"] == "error"}


GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Registry Tester",
    "GIT_AUTHOR_EMAIL": "tester@example.org",
    "GIT_COMMITTER_NAME": "Registry Tester",
    "GIT_COMMITTER_EMAIL": "tester@example.org",
}


def git(
    root: Path, *args: str, date: str = "2025-01-01T12:00:00+00:00", author: str | None = None
) -> str:
    """Run git in `root` with a fixed identity and date (no global git config needed)."""
    import os
    import subprocess

    env = {**os.environ, **GIT_IDENTITY, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    if author is not None:
        env["GIT_AUTHOR_NAME"] = env["GIT_COMMITTER_NAME"] = author
    done = subprocess.run(["git", *args], cwd=root, env=env, capture_output=True, check=True)
    return done.stdout.decode("utf-8", errors="replace")


def commit_all(
    root: Path, message: str, date: str = "2025-01-01T12:00:00+00:00", author: str | None = None
) -> str:
    """Stage everything and commit; returns the new commit's sha."""
    if not (root / ".git").exists():
        git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "--allow-empty", "-m", message, date=date, author=author)
    return git(root, "rev-parse", "HEAD").strip()


def tree_digest(folder: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every file under `folder`."""
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def left_nothing(target: Path) -> bool:
    """A failed fetch leaves nothing in its target (a folder it made is removed too)."""
    return not target.exists() or list(target.iterdir()) == []
