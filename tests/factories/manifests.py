"""Manifests: of the real third-party models (stated by hand, independently of the handlers), of
ONNX models with external data, and the YAML the tests write them as."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.helpers import REAL_MODELS, sha256_of


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

# The fields every manifest must have (schema/manifest/*.json `required`).
REQUIRED_FIELDS = (
    "schema_version",
    "model_name",
    "version",
    "framework",
    "format",
    "artifact",
    "input_shape",
    "output_schema",
    "license",
    "intended_use",
    "publisher",
    "risk_tier",
)


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


def file_ref(folder: Path, name: str) -> dict[str, Any]:
    """The manifest's entry for the file `name` in `folder`: path, SHA-256 and size."""
    path = folder / name
    return {"path": name, "sha256": sha256_of(path), "size": path.stat().st_size}


def external_data_manifest(
    folder: Path,
    io: dict[str, Any],
    external: tuple[str, ...] = ("weights.bin",),
    name: str = "ext",
    intended_use: str = "A model whose weights live in an external file.",
) -> dict[str, Any]:
    """<name>@1.0.0: the ONNX model.onnx in `folder` (inputs and outputs as `io` states them),
    with the files `external` listed as its external data (none listed when empty)."""
    artifact = file_ref(folder, "model.onnx")
    if external:
        artifact["external_data"] = [file_ref(folder, file) for file in external]
    return {
        "schema_version": "1.1",
        "model_name": name,
        "version": "1.0.0",
        "framework": {"name": "onnx", "version": "1.17.0"},
        "format": "onnx",
        "artifact": artifact,
        **io,
        "license": "MIT",
        "intended_use": intended_use,
        "publisher": {"name": "tests"},
        "risk_tier": "tier-1",
    }


def dump_manifest(data: dict[str, Any]) -> str:
    """YAML in field order; PyYAML quotes every string that could read as another type."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
