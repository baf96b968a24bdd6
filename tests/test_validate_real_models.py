"""Validation of manifests for the real model files: the correct one passes, each mutation fails
with its own stable code."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.factories.manifests import (
    REQUIRED_FIELDS,
    VALID_REAL_MODELS,
    RealModel,
    dump_manifest,
    manifest_data,
)
from tests.factories.registries import write_version
from tests.helpers import error_codes, validate_json

OTHER_FORMAT = {"onnx": "tflite", "tflite": "torchscript", "torchscript": "onnx"}

Mutation = Callable[[dict[str, Any], RealModel], None]


def _first_fixed_dim(data: dict[str, Any]) -> tuple[int, int] | None:
    for i, tensor in enumerate(data["input_shape"]):
        for axis, dim in enumerate(tensor["shape"] or []):
            if isinstance(dim, int):
                return i, axis
    return None


def _wrong_dtype(data: dict[str, Any], model: RealModel) -> None:
    # The last input has a stated dtype in every real model (TorchScript: `sr: int`).
    tensor = data["input_shape"][-1]
    tensor["dtype"] = "float64" if tensor["dtype"] != "float64" else "int32"


def _wrong_dim(data: dict[str, Any], model: RealModel) -> None:
    found = _first_fixed_dim(data)
    assert found is not None
    i, axis = found
    data["input_shape"][i]["shape"][axis] += 1


MUTATIONS: dict[str, tuple[Mutation, str]] = {
    "wrong sha256": (
        lambda d, m: d["artifact"].update(sha256="0" * 64),
        "integrity.sha256-mismatch",
    ),
    "wrong size": (
        lambda d, m: d["artifact"].update(size=d["artifact"]["size"] + 1),
        "integrity.size-mismatch",
    ),
    "wrong format": (lambda d, m: d.update(format=OTHER_FORMAT[m.format]), "format.mismatch"),
    "renamed input": (lambda d, m: d["input_shape"][0].update(name="renamed"), "io.name-mismatch"),
    "wrong dtype": (_wrong_dtype, "io.dtype-mismatch"),
    "wrong fixed dim": (_wrong_dim, "io.dim-mismatch"),
    "extra input": (
        lambda d, m: d["input_shape"].append({"name": "extra", "dtype": "float32", "shape": [1]}),
        "io.not-in-model",
    ),
    "missing input": (lambda d, m: d["input_shape"].pop(0), "io.undeclared"),
    "invalid license": (lambda d, m: d.update(license="Apache 2 or whatever"), "license.invalid"),
    "unknown schema_version": (
        lambda d, m: d.update(schema_version="9.9"),
        "manifest.unknown-schema-version",
    ),
    "artifact path with ..": (
        lambda d, m: d["artifact"].update(path="../" + m.file),
        "path.parent-reference",
    ),
    "absolute artifact path": (
        lambda d, m: d["artifact"].update(path=str(m.path)),
        "path.absolute",
    ),
}
MUTATIONS.update(
    {
        f"missing {field}": ((lambda f: lambda d, m: d.pop(f))(field), "schema.required")
        for field in REQUIRED_FIELDS
    }
)


def _applicable(name: str, model: RealModel) -> bool:
    if name == "wrong fixed dim":
        return _first_fixed_dim(manifest_data(model)) is not None
    return True


CASES = [
    pytest.param(file, mutation, id=f"{file}-{mutation}")
    for file, model in VALID_REAL_MODELS.items()
    for mutation in MUTATIONS
    if _applicable(mutation, model)
]


@pytest.mark.parametrize("file", sorted(VALID_REAL_MODELS))
def test_correct_manifest_passes(tmp_path: Path, file: str) -> None:
    model = VALID_REAL_MODELS[file]
    write_version(tmp_path, manifest_data(model), model.path)
    code, report = validate_json(tmp_path)
    assert report["findings"] == [] or error_codes(report) == set(), report["findings"]
    assert code == 0
    assert report["ok"] is True
    info = report["versions"][0]["model_info"]
    assert info["format"] == model.format
    assert [t["name"] for t in info["inputs"]] == [t["name"] for t in model.inputs]


@pytest.mark.parametrize(("file", "mutation"), CASES)
def test_each_mutation_fails_with_its_code(tmp_path: Path, file: str, mutation: str) -> None:
    model = VALID_REAL_MODELS[file]
    data = copy.deepcopy(manifest_data(model))
    mutate, expected = MUTATIONS[mutation]
    mutate(data, model)
    write_version(
        tmp_path,
        {**manifest_data(model), **{"model_name": "real-model", "version": "1.0.0"}},
        model.path,
        text=dump_manifest(data),
    )
    code, report = validate_json(tmp_path)
    assert code == 1
    assert error_codes(report) == {expected}, report["findings"]
    finding = next(f for f in report["findings"] if f["code"] == expected)
    assert finding["file"] == "models/real-model/1.0.0/manifest.yaml"
    assert finding["line"] is not None and finding["line"] >= 1
    assert finding["message"]


@pytest.mark.parametrize(
    ("name", "text_change", "expected"),
    [
        ("unquoted version 1.10", ("version: 1.0.0", "version: 1.10"), "yaml.unquoted-scalar"),
        ("duplicate key", ("license: MIT", "license: MIT\nlicense: MIT"), "yaml.duplicate-key"),
        (
            "alias",
            (
                "publisher:\n  name: Test Publisher",
                "publisher:\n  name: &who Test Publisher\nauthors:\n- name: *who",
            ),
            "yaml.alias",
        ),
    ],
)
def test_yaml_mutations(
    tmp_path: Path, name: str, text_change: tuple[str, str], expected: str
) -> None:
    model = VALID_REAL_MODELS["silero_vad.jit"]
    text = dump_manifest(manifest_data(model))
    assert text_change[0] in text
    write_version(
        tmp_path,
        manifest_data(model),
        model.path,
        text=text.replace(text_change[0], text_change[1], 1),
    )
    code, report = validate_json(tmp_path)
    assert code == 1
    assert error_codes(report) == {expected}, report["findings"]
    if name == "unquoted version 1.10":
        message = report["findings"][0]["message"]
        assert '"1.10"' in message and "quote" in message
        assert report["findings"][0]["line"] == 3


def test_symlinked_artifact_is_refused(tmp_path: Path) -> None:
    model = VALID_REAL_MODELS["nmp.tflite"]
    folder = write_version(tmp_path, manifest_data(model))
    (folder / model.file).symlink_to(model.path)
    code, report = validate_json(tmp_path)
    assert code == 1
    assert error_codes(report) == {"security.symlink"}


def test_mul_1_refused_with_the_checker_reason(tmp_path: Path) -> None:
    model = RealModel(
        "mul_1.onnx",
        "onnx",
        {"name": "onnx", "version": "1.2"},
        [{"name": "X", "dtype": "float32", "shape": [3, 2]}],
        [{"name": "Y", "dtype": "float32", "shape": [3, 2]}],
        "MIT",
    )
    write_version(tmp_path, manifest_data(model), model.path)
    code, report = validate_json(tmp_path)
    assert code == 1
    assert error_codes(report) == {"format.invalid"}
    assert "W in initializer but not in graph input" in report["findings"][0]["message"]


def test_facenet_pickle_refused_as_not_torchscript(tmp_path: Path) -> None:
    model = RealModel(
        "facenet_pnet.pt",
        "torchscript",
        {"name": "pytorch", "version": "1.0"},
        [{"name": "x", "dtype": "float32", "shape": None}],
        [{"name": "y", "dtype": "float32", "shape": None}],
        "MIT",
    )
    write_version(tmp_path, manifest_data(model), model.path)
    code, report = validate_json(tmp_path)
    assert code == 1
    assert error_codes(report) == {"format.unrecognized"}
    assert (
        "not a TorchScript archive (legacy torch.save pickle)" in report["findings"][0]["message"]
    )
