"""Synthetic registries for the benchmarks: many versions of a tiny real ONNX model, in Git."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.org",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.org",
    "GIT_AUTHOR_DATE": "2025-01-01T00:00:00+00:00",
    "GIT_COMMITTER_DATE": "2025-01-01T00:00:00+00:00",
}

MANIFEST = """\
schema_version: "1.1"
model_name: {name}
version: "{version}"
framework:
  name: onnx
  version: "1.17.0"
format: onnx
artifact:
  path: model.onnx
  sha256: {sha256}
  size: {size}
input_shape:
  - name: features
    dtype: float32
    shape: [batch, 4]
output_schema:
  - name: probabilities
    dtype: float32
    shape: [batch, 3]
license: Apache-2.0
intended_use: Synthetic benchmark model number {index}, never used for anything.
description: Benchmark model {index} of a synthetic registry.
publisher:
  name: bench
risk_tier: tier-1
lineage:
  datasets:
    - name: synthetic
metrics:
  - name: accuracy
    value: 0.5
    dataset: synthetic
tags: [bench]
"""


def tiny_onnx(project: Path) -> bytes:
    return (project / "models/iris-mlp/1.0.0/model.onnx").read_bytes()


def make_registry(root: Path, versions: int, project: Path, per_model: int = 10) -> None:
    """`versions` versions, `per_model` per model name, one commit."""
    model = tiny_onnx(project)
    digest = hashlib.sha256(model).hexdigest()
    root.mkdir(parents=True, exist_ok=True)
    (root / "registry.yaml").write_text("name: synthetic\nbase_url: https://bench.example.org/\n")
    for index in range(versions):
        name = f"model-{index // per_model:05d}"
        version = f"1.0.{index % per_model}"
        folder = root / "models" / name / version
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "model.onnx").write_bytes(model)
        (folder / "manifest.yaml").write_text(
            MANIFEST.format(name=name, version=version, sha256=digest, size=len(model), index=index)
        )
    env = {**os.environ, **GIT_ENV}
    for command in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["commit", "-q", "-m", "synthetic"],
    ):
        subprocess.run(["git", *command], cwd=root, env=env, check=True)
