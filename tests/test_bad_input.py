"""Bad input never crashes: damaged model files, odd paths and layouts each give a clear finding."""

from __future__ import annotations

import contextlib
import os
import pickle
import struct
import zipfile
from pathlib import Path
from typing import Any

import pytest

from registry.errors import FormatError
from registry.formats.onnx_handler import OnnxHandler
from registry.formats.tflite_handler import TfliteHandler
from registry.formats.torchscript_handler import TorchScriptHandler
from tests.factories.manifests import VALID_REAL_MODELS, manifest_data
from tests.factories.onnx_models import WEIGHTS, matmul_reading
from tests.factories.registries import write_version
from tests.helpers import PROJECT, error_codes, run, sha256_of, validate_json

EXAMPLE_PT = PROJECT / "models/tiny-convnet/0.1.0/model.pt"
EXAMPLE_TFLITE = PROJECT / "models/keyword-dense/2.0.0/model.tflite"
EXAMPLE_ONNX = PROJECT / "models/iris-mlp/1.0.0/model.onnx"


def rewrite_zip(
    source: Path,
    target: Path,
    replace: dict[str, bytes] | None = None,
    add: dict[str, bytes] | None = None,
    method: int = zipfile.ZIP_STORED,
) -> None:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", method) as new:
        for info in old.infolist():
            new.writestr(info.filename, (replace or {}).get(info.filename, old.read(info)))
        for name, data in (add or {}).items():
            new.writestr(name, data)


def _inspect_code(handler: Any, path: Path) -> str:
    with pytest.raises(FormatError) as caught:
        handler.inspect(path)
    return str(caught.value.code)


def test_pickle_with_a_dangerous_global_is_refused(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self) -> tuple[Any, ...]:
            return (os.system, ("touch /tmp/pwned-by-modelreg-test",))

    target = tmp_path / "evil.pt"
    rewrite_zip(EXAMPLE_PT, target, {"archive/constants.pkl": pickle.dumps(Evil(), protocol=2)})
    handler = TorchScriptHandler()
    with pytest.raises(FormatError) as caught:
        handler.inspect(target)
    assert caught.value.code == "security.pickle-global"
    assert "posix.system" in caught.value.message
    assert not Path("/tmp/pwned-by-modelreg-test").exists()


def test_deeply_nested_pickle_does_not_crash(tmp_path: Path) -> None:
    data = b"\x80\x02" + b"(" * 10 + b")" + b"\x85" * 200_000 + b"."  # 200,000 nested tuples
    target = tmp_path / "deep.pt"
    rewrite_zip(EXAMPLE_PT, target, {"archive/constants.pkl": data})
    TorchScriptHandler().inspect(target)  # inert data: the archive is otherwise fine


def test_forward_signature_scan_is_linear(tmp_path: Path) -> None:
    code = "class TinyConvNet(Module):\n  def forward(" + "(" * 200_000 + "\n"
    target = tmp_path / "slow.pt"
    rewrite_zip(EXAMPLE_PT, target, {"archive/code/__torch__.py": code.encode()})
    assert _inspect_code(TorchScriptHandler(), target) == "security.torchscript-code"


@pytest.mark.parametrize("kind", ["method", "deflate", "encrypted", "dotdot", "ratio"])
def test_damaged_zips(tmp_path: Path, kind: str) -> None:
    target = tmp_path / f"{kind}.pt"
    if kind == "dotdot":
        rewrite_zip(EXAMPLE_PT, target, add={"archive/../../escape": b"x"})
        assert _inspect_code(TorchScriptHandler(), target) == "format.unsafe-archive"
        return
    if kind == "ratio":
        rewrite_zip(
            EXAMPLE_PT,
            target,
            add={"archive/extra/zeros": b"\0" * (4 << 20)},
            method=zipfile.ZIP_DEFLATED,
        )
        assert _inspect_code(TorchScriptHandler(), target) == "format.resource-limit"
        return
    rewrite_zip(EXAMPLE_PT, target, method=zipfile.ZIP_DEFLATED)
    data = bytearray(target.read_bytes())
    with zipfile.ZipFile(target) as archive:
        info = archive.getinfo("archive/data.pkl")
    header = info.header_offset
    name_len, extra_len = struct.unpack_from("<HH", data, header + 26)
    if kind == "method":
        struct.pack_into("<H", data, header + 8, 99)
        central = data.find(b"archive/data.pkl", data.find(b"PK\x01\x02")) - 46
        struct.pack_into("<H", data, central + 10, 99)
    elif kind == "deflate":
        start = header + 30 + name_len + extra_len
        data[start : start + 8] = b"\xff" * 8
    else:
        struct.pack_into("<H", data, header + 6, 1)
        central = data.find(b"archive/data.pkl", data.find(b"PK\x01\x02")) - 46
        struct.pack_into("<H", data, central + 8, 1)
    target.write_bytes(bytes(data))
    assert _inspect_code(TorchScriptHandler(), target) in {
        "format.invalid",
        "format.unsafe-archive",
    }


@pytest.mark.parametrize("offset", [0, 4, 31, 100, 172, 200, 300, 400, 500])
def test_single_byte_onnx_corruption_is_a_finding(tmp_path: Path, offset: int) -> None:
    for value in (0x00, 0x1E, 0x80, 0xFF):
        data = bytearray(EXAMPLE_ONNX.read_bytes())
        data[offset] = value
        target = tmp_path / f"m-{offset}-{value}.onnx"
        target.write_bytes(bytes(data))
        with contextlib.suppress(FormatError):
            OnnxHandler().inspect(target)


@pytest.mark.parametrize("offset", [0, 4, 8, 60, 187, 300, 600, 900])
def test_single_byte_tflite_corruption_is_a_finding(tmp_path: Path, offset: int) -> None:
    for value in (0x00, 0x35, 0x7F, 0xFF):
        data = bytearray(EXAMPLE_TFLITE.read_bytes())
        data[offset] = value
        target = tmp_path / f"m-{offset}-{value}.tflite"
        target.write_bytes(bytes(data))
        with contextlib.suppress(FormatError):
            TfliteHandler().inspect(target)


def test_truncated_files(tmp_path: Path) -> None:
    for source, handler in (
        (EXAMPLE_ONNX, OnnxHandler()),
        (EXAMPLE_TFLITE, TfliteHandler()),
        (EXAMPLE_PT, TorchScriptHandler()),
    ):
        data = source.read_bytes()
        for cut in (3, 8, len(data) // 2, len(data) - 1):
            target = tmp_path / f"cut-{cut}{source.suffix}"
            target.write_bytes(data[:cut])
            with contextlib.suppress(FormatError):
                handler.inspect(target)


def _nmp(root: Path, data: dict[str, Any] | None = None, **artifact: Any) -> Path:
    """nmp.tflite as models/pitch/1.0.0/nmp.tflite, with a manifest changed as asked."""
    model = VALID_REAL_MODELS["nmp.tflite"]
    data = data or manifest_data(model, "pitch", "1.0.0")
    data["artifact"].update(artifact)
    folder = write_version(root, data)
    (folder / "nmp.tflite").write_bytes(model.path.read_bytes())
    return folder


@pytest.mark.parametrize("path", ["nmp.tflite/x", "n" * 300, "./nmp.tflite"])
def test_odd_artifact_paths(tmp_path: Path, path: str) -> None:
    _nmp(tmp_path, path=path)
    code, report = validate_json(tmp_path)
    if path.startswith("./"):  # one canonical spelling per file: `nmp.tflite`
        assert code == 1 and error_codes(report) == {"path.invalid"}
    else:
        assert code == 1 and error_codes(report) == {"integrity.missing-file"}


def test_hardlinked_artifact(tmp_path: Path) -> None:
    folder = _nmp(tmp_path)
    os.link(folder / "nmp.tflite", tmp_path / "other-link")
    _code, report = validate_json(tmp_path)
    assert error_codes(report) == {"security.hardlink"}


def test_huge_number_in_yaml(tmp_path: Path) -> None:
    folder = _nmp(tmp_path)
    manifest = folder / "manifest.yaml"
    text = manifest.read_text()
    manifest.write_text(
        text.replace(f"size: {len((folder / 'nmp.tflite').read_bytes())}", "size: " + "9" * 5000)
    )
    _code, report = validate_json(tmp_path)
    assert error_codes(report) == {"yaml.number-too-large"}


def test_symlinks_in_the_layout(tmp_path: Path) -> None:
    _nmp(tmp_path)
    (tmp_path / "models/evil").symlink_to("/etc/hostname")
    (tmp_path / "models/pitch/2.0.0").symlink_to(tmp_path / "models/pitch/1.0.0")
    (tmp_path / "models/notes.md").write_text("hello")
    code, report = validate_json(tmp_path)
    assert code == 1
    found = {(f["code"], f["file"]) for f in report["findings"]}
    assert found == {
        ("security.symlink", "models/evil"),
        ("security.symlink", "models/pitch/2.0.0"),
        ("layout.unexpected-file", "models/notes.md"),
    }
    code, _, err = run("validate", "--root", tmp_path, tmp_path / "models/evil")
    assert code == 1 and "symbolic link" in err
    code, _, err = run("validate", "--root", tmp_path, tmp_path / "models/notes.md")
    assert code == 1 and "not a model folder" in err


def test_symlinked_manifest(tmp_path: Path) -> None:
    folder = _nmp(tmp_path)
    (folder / "real.yaml").write_bytes((folder / "manifest.yaml").read_bytes())
    (folder / "manifest.yaml").unlink()
    (folder / "manifest.yaml").symlink_to(folder / "real.yaml")
    _code, report = validate_json(tmp_path)
    assert "security.symlink" in error_codes(report)


def test_registry_without_models_and_unwritable_summary(tmp_path: Path) -> None:
    code, _, err = run("validate", "--root", tmp_path / "nowhere")
    assert code == 1 and "has no models/ folder" in err
    _nmp(tmp_path)
    code, _, err = run("validate", "--root", tmp_path, "--summary", tmp_path)
    assert code == 1 and "cannot write the summary" in err


def test_rank_and_count_mismatches(tmp_path: Path) -> None:
    data = manifest_data(VALID_REAL_MODELS["nmp.tflite"], "pitch", "1.0.0")
    data["input_shape"][0]["shape"] = [None, 43844]
    _nmp(tmp_path, data)
    code, report = validate_json(tmp_path)
    assert code == 1
    assert error_codes(report) == {"io.rank-mismatch"}
    model = VALID_REAL_MODELS["silero_vad.jit"]
    data = manifest_data(model, "vad", "1.0.0")
    data["output_schema"].append({"name": "extra", "dtype": "float32", "shape": None})
    write_version(tmp_path, data, model.path)
    _code, report = validate_json(tmp_path, tmp_path / "models/vad")
    assert error_codes(report) == {"io.count-mismatch"}


def test_dtype_typo_and_list_schema_version(tmp_path: Path) -> None:
    folder = _nmp(tmp_path)
    manifest = folder / "manifest.yaml"
    original = manifest.read_text()
    manifest.write_text(original.replace("dtype: float32", "dtype: flaot32", 1))
    assert error_codes(validate_json(tmp_path)[1]) == {"schema.pattern"}
    manifest.write_text(original.replace("schema_version: '1.0'", "schema_version: [1]"))
    assert error_codes(validate_json(tmp_path)[1]) == {"schema.type"}


def _external_model(
    folder: Path, location: str = "weights.bin", extra: dict[str, str] | None = None
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "weights.bin").write_bytes(WEIGHTS)
    model = matmul_reading(location, extra)
    (folder / "model.onnx").write_bytes(model.SerializeToString())


def _external_manifest(folder: Path, listed: bool = True) -> dict[str, Any]:
    artifact: dict[str, Any] = {
        "path": "model.onnx",
        "sha256": sha256_of(folder / "model.onnx"),
        "size": (folder / "model.onnx").stat().st_size,
    }
    if listed:
        artifact["external_data"] = [
            {"path": "weights.bin", "sha256": sha256_of(folder / "weights.bin"), "size": 64}
        ]
    return {
        "schema_version": "1.1",
        "model_name": "ext",
        "version": "1.0.0",
        "framework": {"name": "onnx", "version": "1.17.0"},
        "format": "onnx",
        "artifact": artifact,
        "input_shape": [{"name": "x", "dtype": "float32", "shape": [1, 4]}],
        "output_schema": [{"name": "y", "dtype": "float32", "shape": [1, 4]}],
        "license": "MIT",
        "intended_use": "A model whose weights live in an external file.",
        "publisher": {"name": "tests"},
        "risk_tier": "tier-1",
    }


@pytest.mark.parametrize(
    ("location", "extra", "listed", "expected"),
    [
        ("weights.bin", None, True, set()),
        ("weights.bin", None, False, {"integrity.unlisted-external-data"}),
        ("weights.bin", {"offset": "1000"}, True, {"format.external-data"}),
        ("weights.bin", {"basepath": "/etc"}, True, {"format.external-data"}),
        ("sub/../../x", None, True, {"format.external-data"}),
        ("/etc/passwd", None, True, {"format.external-data"}),
    ],
)
def test_external_data_rules(
    tmp_path: Path, location: str, extra: dict[str, str] | None, listed: bool, expected: set[str]
) -> None:
    folder = tmp_path / "models/ext/1.0.0"
    _external_model(folder, location, extra)
    write_version(tmp_path, _external_manifest(folder, listed))
    code, report = validate_json(tmp_path)
    assert error_codes(report) == expected, report["findings"]
    assert code == (1 if expected else 0)


def test_a_size_written_as_a_float_builds(tmp_path: Path) -> None:
    """JSON Schema's `integer` admits 204448.0, and the file-size check compares values: such a
    manifest validates (its published record says 204448.0, so changing it later is a change of
    the field), and the build must not stop on it (its record of the files it writes packs sizes
    as integers)."""
    folder = _nmp(tmp_path)
    manifest = folder / "manifest.yaml"
    lines = manifest.read_text().splitlines(keepends=True)
    number, line = next((n, t) for n, t in enumerate(lines) if t.strip().startswith("size:"))
    size = int(line.split(":")[1])
    lines[number] = line.replace(str(size), f"{size}.0")
    manifest.write_text("".join(lines))
    assert validate_json(tmp_path)[0] == 0
    for _ in range(2):  # the second one from the cache, into the spare tree
        code, _, err = run("build", "--root", tmp_path, "--out", tmp_path / "site", "--force")
        assert code == 0, err
