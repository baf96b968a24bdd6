"""The hostile corpus: each case builds its own registry in a temporary folder (no hostile file is
committed) and says which finding it must produce."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.factories import attacks
from tests.factories.attacks import CANARY
from tests.factories.manifests import VALID_REAL_MODELS, dump_manifest, manifest_data
from tests.factories.onnx_models import MATMUL_IO, WEIGHTS, matmul_reading
from tests.helpers import PROJECT, REAL_MODELS, commit_all, git

EXAMPLE_PT = PROJECT / "models/tiny-convnet/0.1.0/model.pt"
EXAMPLE_TFLITE = PROJECT / "models/keyword-dense/2.0.0/model.tflite"


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Path], None]
    code: str  # the finding that must appear
    file: str  # a fragment of the file the finding must name
    exit_code: int = 1
    config: str = ""  # extra registry.yaml lines
    # The torch loaders under which the file runs its payload (proof that the attack is real).
    loaders: tuple[str, ...] = ()
    fetched: bool = False  # also check that `fetch` of a site built with --allow-invalid refuses it


def _version(
    root: Path,
    artifact: bytes,
    filename: str,
    fmt: str,
    change: Callable[[dict[str, Any]], None] | None = None,
    name: str = "hostile",
    version: str = "1.0.0",
) -> Path:
    """models/<name>/<version>/ with `artifact` and a manifest that matches it."""
    folder = root / "models" / name / version
    folder.mkdir(parents=True, exist_ok=True)
    (folder / filename).write_bytes(artifact)
    data = manifest_data(VALID_REAL_MODELS["nmp.tflite"], name, version)
    data["format"] = fmt
    data["artifact"] = {
        "path": filename,
        "sha256": hashlib.sha256(artifact).hexdigest(),
        "size": len(artifact),
    }
    if change is not None:
        change(data)
    (folder / "manifest.yaml").write_text(dump_manifest(data))
    return folder


def _valid_tflite(root: Path) -> Path:
    model = VALID_REAL_MODELS["nmp.tflite"]
    return _version(root, model.path.read_bytes(), "nmp.tflite", "tflite")


# ---------------------------------------------------------------- TorchScript archives


def _zip(entries: list[tuple[str, bytes]], method: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
            info.compress_type = method
            archive.writestr(info, data)
    return buffer.getvalue()


def _example_entries(replace: dict[str, bytes] | None = None) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(EXAMPLE_PT) as archive:
        return [
            (i.filename, (replace or {}).get(i.filename, archive.read(i)))
            for i in archive.infolist()
        ]


def _torchscript(
    root: Path, entries: list[tuple[str, bytes]], method: int = zipfile.ZIP_STORED
) -> None:
    _version(root, _zip(entries, method), "model.pt", "torchscript")


class _Reduce:
    def __init__(self, function: Any, *args: Any) -> None:
        self.function, self.args = function, args

    def __reduce__(self) -> tuple[Any, ...]:
        return (self.function, self.args)


def _evil_pickle(function: Any, *args: Any) -> Callable[[Path], None]:
    def build(root: Path) -> None:
        payload = pickle.dumps(_Reduce(function, *args), protocol=2)
        _torchscript(root, _example_entries({"archive/constants.pkl": payload}))

    return build


def _setstate_writes_file(root: Path) -> None:
    """A real scripted module whose __setstate__ would write a file when torch.jit.load runs."""
    _version(root, attacks.evil_archive(), "model.pt", "torchscript")


def _zip_declaring(size: int) -> Callable[[Path], None]:
    def build(root: Path) -> None:
        entries = _example_entries()
        data = bytearray(
            _zip([*entries, ("archive/extra/bomb", b"\x00" * 1024)], zipfile.ZIP_DEFLATED)
        )
        marker = data.rfind(b"PK\x01\x02")  # the last central directory record: the bomb
        struct.pack_into("<I", data, marker + 24, min(size, 0xFFFFFFFE))  # uncompressed size
        local = data.find(b"archive/extra/bomb") - 30  # and its local header, to agree
        struct.pack_into("<I", data, local + 22, min(size, 0xFFFFFFFE))
        _version(root, bytes(data), "model.pt", "torchscript")

    return build


def _patched_entry(offset: int, value: int, width: str = "<H") -> Callable[[Path], None]:
    """The example archive deflated, with a field of data.pkl's headers patched."""

    def build(root: Path) -> None:
        data = bytearray(_zip(_example_entries(), zipfile.ZIP_DEFLATED))
        local = data.find(b"archive/data.pkl") - 30
        central = data.find(b"archive/data.pkl", data.find(b"PK\x01\x02")) - 46
        struct.pack_into(width, data, local + offset, value)
        struct.pack_into(width, data, central + offset + 2, value)
        _version(root, bytes(data), "model.pt", "torchscript")

    return build


def _legacy_pickle(root: Path) -> None:
    _version(root, (REAL_MODELS / "facenet_pnet.pt").read_bytes(), "model.pt", "torchscript")


def _torch_save_zip(root: Path) -> None:
    entries = [(n, d) for n, d in _example_entries() if "/code/" not in n]
    _torchscript(root, entries)


JIT, LITE, LOAD = attacks.LOADERS  # the loaders a payload runs under
_EXAMPLE_ONNX = PROJECT / "models/iris-mlp/1.0.0/model.onnx"
# The payload's line written the ways a text pattern misses and TorchScript still compiles.
CODE_VARIANTS = [
    ('    torch .save(x, "CANARY")\n', "security.torchscript-op"),
    ('    torch. save(x, "CANARY")\n', "security.torchscript-op"),
    ('    torch.save\t(x, "CANARY")\n', "security.torchscript-code"),
    ('    (torch).save(x, "CANARY")\n', "security.torchscript-op"),
    ('    torch.\\\n      save(x, "CANARY")\n', "security.torchscript-code"),
    # the serializer writes no comment, and torch's lexer reads `# type:` ones as code
    ('    torch.save(x, "CANARY")  # a comment\n', "security.torchscript-code"),
    ('    torch.autograd.save(x, "CANARY")\n', "security.torchscript-op"),
    ('    ops.quantized.autograd.save(x, "CANARY")\n', "security.torchscript-op"),
    ('    _f = getattr(torch, "save")\n    _f(x, "CANARY")\n', "security.torchscript-op"),
    ('    _f = torch.save\n    _f(x, "CANARY")\n', "security.torchscript-op"),
    (
        '    self.x = torch.fill_(torch.from_file("CANARY", True, 16), 1.)\n',
        "security.torchscript-op",
    ),
]


def _attack(root: Path, data: bytes, filename: str = "model.pt", fmt: str = "torchscript") -> None:
    _version(root, data, filename, fmt)


def _code_variant(payload: str) -> Callable[[Path], None]:
    def build(root: Path) -> None:
        _attack(root, attacks.code_variant(payload))

    return build


# ---------------------------------------------------------------- ONNX


def _onnx_external(
    location: str, extra: dict[str, str] | None = None, listed: bool = True, link: str | None = None
) -> Callable[[Path], None]:
    def build(root: Path) -> None:
        folder = root / "models/hostile/1.0.0"
        folder.mkdir(parents=True)
        if link:
            (folder / "weights.bin").symlink_to(link)
        else:
            (folder / "weights.bin").write_bytes(WEIGHTS)
        model = matmul_reading(location, extra)

        def change(data: dict[str, Any]) -> None:
            data.update(MATMUL_IO)
            if listed and not link:
                data["artifact"]["external_data"] = [
                    {
                        "path": "weights.bin",
                        "sha256": hashlib.sha256(WEIGHTS).hexdigest(),
                        "size": 64,
                    }
                ]

        _version(root, model.SerializeToString(), "model.onnx", "onnx", change)

    return build


def _external(tensor: Any, location: str) -> None:
    from onnx import TensorProto

    tensor.data_location = TensorProto.EXTERNAL
    for key, value in {"location": location, "offset": "0", "length": "64"}.items():
        tensor.external_data.add(key=key, value=value)


def _onnx_hidden_tensor(where: str) -> Callable[[Path], None]:
    """A tensor outside the main graph that reads a file: a Constant in a local function
    (reading weights.bin beside the model, unlisted), or a training-info initializer."""

    def build(root: Path) -> None:
        import numpy as np
        from onnx import TensorProto, helper

        folder = root / "models/hostile/1.0.0"
        folder.mkdir(parents=True)
        (folder / "weights.bin").write_bytes(np.ones(16, np.float32).tobytes())
        graph = helper.make_graph(
            [helper.make_node("AddW", ["x"], ["y"], domain="custom")],
            "g",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 4])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 4])],
        )
        constant = helper.make_tensor("w", TensorProto.FLOAT, [4, 4], np.zeros(16, np.float32))
        if where == "function":
            constant.ClearField("float_data")
            _external(constant, "weights.bin")
        function = helper.make_function(
            "custom",
            "AddW",
            ["x"],
            ["y"],
            [
                helper.make_node("Constant", [], ["w"], value=constant),
                helper.make_node("Add", ["x", "w"], ["y"]),
            ],
            [helper.make_opsetid("", 17)],
        )
        model = helper.make_model(
            graph,
            functions=[function],
            opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("custom", 1)],
        )
        model.ir_version = 8
        if where == "training":
            training = model.training_info.add()
            init = training.initialization
            init.name = "init"
            secret = init.initializer.add()
            secret.CopyFrom(helper.make_tensor("s", TensorProto.FLOAT, [16], np.zeros(16)))
            secret.ClearField("float_data")
            _external(secret, "/etc/passwd")

        def change(data: dict[str, Any]) -> None:
            data["input_shape"] = [{"name": "x", "dtype": "float32", "shape": [4, 4]}]
            data["output_schema"] = [{"name": "y", "dtype": "float32", "shape": [4, 4]}]

        _version(root, model.SerializeToString(), "model.onnx", "onnx", change)

    return build


def _onnx_bytes(make: Callable[[], bytes]) -> Callable[[Path], None]:
    def build(root: Path) -> None:
        _version(root, make(), "model.onnx", "onnx")

    return build


def _nested_functions(depth: int = 30) -> bytes:
    """Local functions each calling the previous one twice: 2 KB stored, 2**depth nodes once
    inlined (shape inference and runtimes inline every call)."""
    from onnx import TensorProto, helper

    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("local", 1)]
    functions = [
        helper.make_function(
            "local", "f0", ["x"], ["y"], [helper.make_node("Relu", ["x"], ["y"])], opsets
        )
    ]
    for i in range(1, depth + 1):
        calls = [
            helper.make_node(f"f{i - 1}", ["x"], ["a"], domain="local"),
            helper.make_node(f"f{i - 1}", ["a"], ["y"], domain="local"),
        ]
        functions.append(helper.make_function("local", f"f{i}", ["x"], ["y"], calls, opsets))
    io = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [4]) for n in ("x", "y")]
    graph = helper.make_graph(
        [helper.make_node(f"f{depth}", ["x"], ["y"], domain="local")], "g", io[:1], io[1:]
    )
    model = helper.make_model(graph, opset_imports=opsets, functions=functions)
    model.ir_version = 8
    return bytes(model.SerializeToString())


def _huge_dims() -> bytes:
    from onnx import TensorProto, helper

    tensor = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[1 << 30, 1 << 30, 1 << 10])
    graph = helper.make_graph(
        [helper.make_node("Identity", ["w"], ["y"])],
        "g",
        [],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [tensor],
    )
    return bytes(helper.make_model(graph).SerializeToString())


# ---------------------------------------------------------------- TFLite


def _tflite_bytes(make: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def build(root: Path) -> None:
        _version(root, make(EXAMPLE_TFLITE.read_bytes()), "model.tflite", "tflite")

    return build


def _patch_tflite(
    find: Callable[[Any], int], value: int, width: str = "<i"
) -> Callable[[bytes], bytes]:
    """Overwrite one scalar of the example model, located through the flatbuffer itself."""

    def make(original: bytes) -> bytes:
        import tflite

        model = tflite.Model.GetRootAsModel(original, 0)
        data = bytearray(original)
        struct.pack_into(width, data, find(model), value)
        return bytes(data)

    return make


def _field(table: Any, slot: int) -> int:
    return int(table._tab.Pos + table._tab.Offset(slot))


def _vector_length(table: Any, slot: int) -> int:
    return int(table._tab.Vector(table._tab.Offset(slot)) - 4)


# ---------------------------------------------------------------- YAML and paths


def _manifest_text(edit: Callable[[str], str]) -> Callable[[Path], None]:
    def build(root: Path) -> None:
        folder = _valid_tflite(root)
        manifest = folder / "manifest.yaml"
        manifest.write_text(edit(manifest.read_text()))

    return build


def _billion_laughs(text: str) -> str:
    lines = ['lol0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        lines.append(f"lol{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]")
    return text + "\n".join(lines) + "\n"


def _with_artifact(change: Callable[[Path, dict[str, Any]], None]) -> Callable[[Path], None]:
    def build(root: Path) -> None:
        folder = _valid_tflite(root)
        data = yaml.safe_load((folder / "manifest.yaml").read_text())
        change(folder, data)
        (folder / "manifest.yaml").write_text(dump_manifest(data))

    return build


def _artifact_path(path: str) -> Callable[[Path, dict[str, Any]], None]:
    return lambda folder, data: data["artifact"].update(path=path)


def _external_file(name: str) -> Callable[[Path, dict[str, Any]], None]:
    listed = [{"path": name, "sha256": "0" * 64, "size": 1}]
    return lambda folder, data: data["artifact"].update(external_data=listed)


def _artifact_symlink_to(target: str) -> Callable[[Path, dict[str, Any]], None]:
    def change(folder: Path, data: dict[str, Any]) -> None:
        (folder / "nmp.tflite").unlink()
        (folder / "nmp.tflite").symlink_to(target)

    return change


def _extra_file(name: str) -> Callable[[Path], None]:
    def build(root: Path) -> None:
        folder = _valid_tflite(root)
        (folder / name).write_text("x")

    return build


def _folder_not_utf8(root: Path) -> None:
    """A model folder named with a byte that is not UTF-8 (Python reads it as a lone surrogate,
    which SQLite, JSON writers and the event log cannot hold as text)."""
    _valid_tflite(root)
    (root / "models/hostile").rename(root / "models/x\udcff")


def _committed_link(root: Path) -> None:
    _valid_tflite(root)
    (root / "models/linked").symlink_to(root / "models/hostile")


def _submodule(root: Path) -> None:
    """A nested repository inside a version folder: Git records it as a gitlink (160000)."""
    folder = _valid_tflite(root)
    nested = folder / "vendor"
    nested.mkdir()
    (nested / "README").write_text("someone else's code")
    commit_all(nested, "nested repository")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "models/hostile/1.0.0/vendor")


def _hardlink(root: Path) -> None:
    folder = _valid_tflite(root)
    os.link(folder / "nmp.tflite", root / "elsewhere.tflite")


# ---------------------------------------------------------------- the sandbox itself

SANDBOX_PLUGIN = """
import os, time, ctypes, signal
from pathlib import Path
from registry.formats.base import ModelInfo
from registry.tensors import TensorSpec

class Hostile:
    name = "hostile"
    title = "hostile test format"
    suffixes = (".hostile",)
    version = "1"

    def sniff(self, head):
        return head.startswith(b"HOSTILE")

    def inspect(self, path):
        action = Path(path).read_bytes()[7:].strip().decode()
        if action == "sleep":
            time.sleep(3600)
        if action == "spin":
            while True:
                pass
        if action == "memory":
            hog = [bytearray(64 << 20) for _ in range(1000)]
        if action == "segfault":
            os.kill(os.getpid(), signal.SIGSEGV)
        if action == "write":
            Path("big").write_bytes(b"x" * (64 << 20))
        secrets = sorted(k for k in os.environ if "TOKEN" in k or "SECRET" in k)
        return ModelInfo("hostile", "1", ",".join(secrets) or "clean",
                         (TensorSpec("x", "float32", (1,)),), (TensorSpec("y", "float32", (1,)),))
"""


def _sandbox(action: str) -> Callable[[Path], None]:
    def build(root: Path) -> None:
        def change(data: dict[str, Any]) -> None:
            data["input_shape"] = [{"name": "x", "dtype": "float32", "shape": [1]}]
            data["output_schema"] = [{"name": "y", "dtype": "float32", "shape": [1]}]

        _version(root, f"HOSTILE {action}".encode(), "model.hostile", "hostile", change)

    return build


SANDBOX_LIMITS = (
    "limits:\n  sandbox:\n    wall_seconds: 4\n    cpu_seconds: 2\n    memory_mb: 512\n"
)

CASES = [
    # TorchScript
    Case(
        "torchscript __setstate__ writes a file",
        _setstate_writes_file,
        "security.torchscript-op",
        "models/hostile/1.0.0/manifest.yaml",
    ),
    Case(
        "pickle calls os.system",
        _evil_pickle(os.system, f"touch {CANARY}"),
        "security.pickle-global",
        "manifest.yaml",
    ),
    Case(
        "pickle calls builtins.eval",
        _evil_pickle(eval, "1"),
        "security.pickle-global",
        "manifest.yaml",
    ),
    Case(
        "pickle imports importlib",
        _evil_pickle(__import__("importlib").import_module, "os"),
        "security.pickle-global",
        "manifest.yaml",
    ),
    Case(
        "pickle runs runpy",
        _evil_pickle(__import__("runpy").run_path, str(CANARY)),
        "security.pickle-global",
        "manifest.yaml",
    ),
    Case(
        "pickle that cannot be parsed",
        lambda root: _torchscript(root, _example_entries({"archive/data.pkl": b"\x80\x02(]q"})),
        "format.invalid",
        "manifest.yaml",
    ),
    Case("zip declaring 4 GiB", _zip_declaring(4 << 30), "format.resource-limit", "manifest.yaml"),
    Case(
        "zip with 10,001 entries",
        lambda root: _torchscript(
            root, _example_entries() + [(f"archive/extra/{i}", b"") for i in range(10_001)]
        ),
        "format.resource-limit",
        "manifest.yaml",
    ),
    Case(
        "entry name with ..",
        lambda root: _torchscript(root, [*_example_entries(), ("archive/../../escape", b"x")]),
        "format.unsafe-archive",
        "manifest.yaml",
    ),
    Case(
        "absolute entry name",
        lambda root: _torchscript(root, [*_example_entries(), ("/etc/cron.d/x", b"x")]),
        "format.unsafe-archive",
        "manifest.yaml",
    ),
    Case(
        "duplicate entry",
        lambda root: _torchscript(root, [*_example_entries(), ("archive/version", b"3\n")]),
        "security.zip-duplicate-name",
        "manifest.yaml",
    ),
    Case(
        "backslash in an entry name",
        lambda root: _torchscript(root, [*_example_entries(), ("archive\\data\\x", b"x")]),
        "format.unsafe-archive",
        "manifest.yaml",
    ),
    Case(
        "two root folders",
        lambda root: _torchscript(root, [*_example_entries(), ("other/data.pkl", b"x")]),
        "format.invalid",
        "manifest.yaml",
    ),
    Case(
        "no data.pkl",
        lambda root: _torchscript(
            root, [e for e in _example_entries() if not e[0].endswith("data.pkl")]
        ),
        "format.invalid",
        "manifest.yaml",
    ),
    Case(
        "torch.save zip without code/", _torch_save_zip, "format.not-torchscript", "manifest.yaml"
    ),
    Case(
        "legacy torch.save pickle",
        _legacy_pickle,
        "format.unrecognized",
        "manifest.yaml",
    ),
    Case("encrypted entry", _patched_entry(6, 1), "format.unsafe-archive", "manifest.yaml"),
    Case("unknown compression method", _patched_entry(8, 99), "format.invalid", "manifest.yaml"),
    # ONNX
    Case(
        "external data location sub/../../x",
        _onnx_external("sub/../../x"),
        "format.external-data",
        "manifest.yaml",
    ),
    Case(
        "external data offset past the end",
        _onnx_external("weights.bin", {"offset": "4096"}),
        "format.external-data",
        "manifest.yaml",
    ),
    Case(
        "external data offset '\u00b2' (a digit to str.isdigit, not to int)",
        _onnx_external("weights.bin", {"offset": "\u00b2"}),
        "format.external-data",
        "manifest.yaml",
    ),
    Case(
        "external data with an unknown key",
        _onnx_external("weights.bin", {"basepath": "/"}),
        "format.external-data",
        "manifest.yaml",
    ),
    Case(
        "external data at an absolute path",
        _onnx_external("/etc/passwd"),
        "format.external-data",
        "manifest.yaml",
    ),
    Case(
        "external data is a symlink to /etc/passwd",
        _onnx_external("weights.bin", link="/etc/passwd"),
        "format.external-data",
        "manifest.yaml",
    ),
    Case(
        "external data not listed in the manifest",
        _onnx_external("weights.bin", listed=False),
        "integrity.unlisted-external-data",
        "manifest.yaml",
    ),
    Case(
        "a local function's Constant reads an unlisted file",
        _onnx_hidden_tensor("function"),
        "integrity.unlisted-external-data",
        "manifest.yaml",
    ),
    Case(
        "a training-info initializer reads /etc/passwd",
        _onnx_hidden_tensor("training"),
        "format.external-data",
        "manifest.yaml",
    ),
    Case("empty ONNX file", _onnx_bytes(lambda: b""), "format.unrecognized", "manifest.yaml"),
    Case(
        "local functions that double at every level, 30 deep",
        _onnx_bytes(_nested_functions),
        "format.resource-limit",
        "manifest.yaml",
    ),
    Case("tensor with 2^70 elements", _onnx_bytes(_huge_dims), "format.invalid", "manifest.yaml"),
    Case(
        "truncated ONNX protobuf",
        _onnx_bytes(lambda: (PROJECT / "models/iris-mlp/1.0.0/model.onnx").read_bytes()[:300]),
        "format.invalid",
        "manifest.yaml",
    ),
    # TFLite
    Case("3-byte file", _tflite_bytes(lambda _: b"TFL"), "format.unrecognized", "manifest.yaml"),
    Case(
        "8-byte TFL3 file",
        _tflite_bytes(lambda _: b"\0\0\0\0TFL3"),
        "format.invalid",
        "manifest.yaml",
    ),
    Case(
        "schema version 2",
        _tflite_bytes(_patch_tflite(lambda m: _field(m, 4), 2)),
        "format.invalid",
        "manifest.yaml",
    ),
    Case(
        "tensor buffer index out of range",
        _tflite_bytes(_patch_tflite(lambda m: _field(m.Subgraphs(0).Tensors(1), 8), 9999, "<I")),
        "format.invalid",
        "manifest.yaml",
    ),
    Case(
        "operator code index out of range",
        _tflite_bytes(_patch_tflite(lambda m: _field(m.Subgraphs(0).Operators(0), 4), 77, "<I")),
        "format.invalid",
        "manifest.yaml",
    ),
    Case(
        "tensor vector longer than the file",
        _tflite_bytes(_patch_tflite(lambda m: _vector_length(m.Subgraphs(0), 4), 0x7FFFFFF0, "<I")),
        "format.invalid",
        "manifest.yaml",
    ),
    Case(
        "root offset past the end",
        _tflite_bytes(lambda d: struct.pack("<I", 10**9) + d[4:]),
        "format.invalid",
        "manifest.yaml",
    ),
    # YAML
    Case("billion laughs", _manifest_text(_billion_laughs), "yaml.alias", "manifest.yaml"),
    Case(
        "version: 1.10",
        _manifest_text(lambda t: t.replace("version: 1.0.0", "version: 1.10")),
        "yaml.unquoted-scalar",
        "manifest.yaml",
    ),
    Case(
        "NO as a value",
        _manifest_text(lambda t: t + "tags:\n- NO\n"),
        "yaml.ambiguous-scalar",
        "manifest.yaml",
    ),
    Case(
        "duplicate key",
        _manifest_text(lambda t: t + "license: MIT\n"),
        "yaml.duplicate-key",
        "manifest.yaml",
    ),
    Case(
        "merge key",
        _manifest_text(lambda t: t + "<<: {tags: [a]}\n"),
        "yaml.merge-key",
        "manifest.yaml",
    ),
    Case(
        "python object tag",
        _manifest_text(lambda t: t + "description: !!python/object/apply:os.system ['id']\n"),
        "yaml.tag",
        "manifest.yaml",
    ),
    Case(
        "two documents",
        _manifest_text(lambda t: t + "---\nmodel_name: other\n"),
        "yaml.multiple-documents",
        "manifest.yaml",
    ),
    Case(
        "a list, not a mapping",
        _manifest_text(lambda t: "- a\n- b\n"),
        "yaml.not-mapping",
        "manifest.yaml",
    ),
    Case(
        "a 2 MiB manifest",
        _manifest_text(lambda t: t + "# " + "x" * (2 << 20) + "\n"),
        "yaml.too-large",
        "manifest.yaml",
    ),
    Case(
        "nesting 1,000 levels deep",
        _manifest_text(lambda t: t + "deep: " + "[" * 1000 + "]" * 1000 + "\n"),
        "yaml.too-deep",
        "manifest.yaml",
    ),
    # Paths and the repository
    Case(
        "artifact is a symlink to /etc/passwd",
        _with_artifact(_artifact_symlink_to("/etc/passwd")),
        "security.symlink",
        "manifest.yaml",
    ),
    Case(
        "artifact path ../../../etc/passwd",
        _with_artifact(lambda f, d: d["artifact"].update(path="../../../etc/passwd")),
        "path.parent-reference",
        "manifest.yaml",
    ),
    Case(
        "absolute artifact path",
        _with_artifact(lambda f, d: d["artifact"].update(path="/etc/passwd")),
        "path.absolute",
        "manifest.yaml",
    ),
    *[
        Case(
            f"artifact path {path!r}",
            _with_artifact(_artifact_path(path)),
            "path.invalid",
            "manifest.yaml",
        )
        for path in [
            "%2e%2e/nmp.tflite",
            "./nmp.tflite",
            "a//nmp.tflite",
            "nmp.tflite.",
            "nmp.tflite ",
        ]
    ],
    *[
        Case(
            f"a published file named {name}",
            _with_artifact(_external_file(name)),
            "path.risky-name",
            "manifest.yaml",
        )
        for name in ["payload.html", "img/payload.svg", "x.XHTML", "run.js"]
    ],
    Case(
        "a model named model.html",
        _with_artifact(lambda f, d: d["artifact"].update(path="model.html")),
        "path.risky-name",
        "manifest.yaml",
    ),
    Case(
        "NUL in an author's name",
        _manifest_text(lambda t: t + 'authors:\n  - name: "Ann\\0 Lee"\n'),
        "yaml.control-character",
        "manifest.yaml",
    ),
    Case(
        "a right-to-left override in the description",
        _manifest_text(lambda t: t + "description: safe \u202egnp.exe\n"),
        "yaml.control-character",
        "manifest.yaml",
    ),
    Case(
        "model folder committed as a symlink", _committed_link, "security.symlink", "models/linked"
    ),
    Case("submodule under models/", _submodule, "security.submodule", "vendor"),
    Case("file name starting with -", _extra_file("-rf"), "security.unsafe-name", "-rf"),
    Case("backslash in a file name", _extra_file("a\\b.onnx"), "security.unsafe-name", "a\\b"),
    Case(
        "non-ASCII look-alike name",
        _extra_file("nmp.tf\u04cfite"),
        "security.non-ascii-name",
        "nmp.tf",
    ),
    Case(
        "model folder named in bytes that are not UTF-8",
        _folder_not_utf8,
        "security.non-ascii-name",
        "models/x",
    ),
    Case(
        "names colliding by case",
        _extra_file("NMP.tflite"),
        "security.case-collision",
        "models/hostile/1.0.0/",
    ),
    Case("hard-linked artifact", _hardlink, "security.hardlink", "manifest.yaml"),
    # The sandbox
    Case(
        "reader that never returns",
        _sandbox("sleep"),
        "format.timeout",
        "manifest.yaml",
        config=SANDBOX_LIMITS,
    ),
    Case(
        "reader that spins the CPU",
        _sandbox("spin"),
        "format.resource-limit",
        "manifest.yaml",
        config=SANDBOX_LIMITS,
    ),
    Case(
        "reader that exhausts memory",
        _sandbox("memory"),
        "format.resource-limit",
        "manifest.yaml",
        config=SANDBOX_LIMITS,
    ),
    Case(
        "reader that crashes",
        _sandbox("segfault"),
        "format.crashed",
        "manifest.yaml",
        config=SANDBOX_LIMITS,
    ),
    Case(
        "reader that writes a big file",
        _sandbox("write"),
        "format.resource-limit",
        "manifest.yaml",
        config=SANDBOX_LIMITS,
    ),
    *[
        Case(name, build, code, "manifest.yaml", loaders=loaders, fetched=True)
        for name, build, code, loaders in [
            (
                "two central directories",
                lambda root: _attack(root, attacks.two_central_directories()),
                "security.zip-ambiguous",
                (JIT, LOAD),
            ),
            (
                "data before the archive",
                lambda root: _attack(root, attacks.prepended()),
                "security.zip-ambiguous",
                (JIT,),
            ),
            (
                "offsets relative to data before the archive",
                lambda root: _attack(root, attacks.relative_offsets()),
                "security.zip-ambiguous",
                (),
            ),
            (
                "a second end record in the comment",
                lambda root: _attack(root, attacks.second_end_record()),
                "security.zip-ambiguous",
                (),
            ),
            (
                "code names equal ignoring case",
                lambda root: _attack(root, attacks.case_folded_code()),
                "security.zip-duplicate-name",
                (JIT, LOAD),
            ),
            (
                "lite bytecode calls aten::save, its code is clean",
                lambda root: _attack(root, attacks.lite_with_clean_code(), "model.ptl"),
                "security.torchscript-op",
                (LITE,),
            ),
            (
                "lite bytecode builds a list of 60 values from a stack of 2",
                lambda root: _attack(root, attacks.lite_operand_out_of_range(), "model.ptl"),
                "security.torchscript-bytecode",
                (),
            ),
            (
                "code hidden from Python in a `# type:` comment",
                lambda root: _attack(root, attacks.type_comment_smuggling()),
                "security.torchscript-code",
                (JIT, LOAD),
            ),
            (
                "a TFLite model starting with a protocol-5 pickle",
                lambda root: _attack(
                    root,
                    attacks.tflite_starting_with_pickle(attacks.READONLY_BUFFER),
                    "m.tflite",
                    "tflite",
                ),
                "security.polyglot",
                (LOAD,),
            ),
            (
                "lite bytecode calls an operator its code does not",
                lambda root: _attack(root, attacks.lite_code_disagrees(), "model.ptl"),
                "security.torchscript-bytecode",
                (),
            ),
            (
                "an ONNX model holding an archive in an unknown field",
                lambda root: _attack(root, attacks.onnx_holding_archive(), "model.onnx", "onnx"),
                "security.polyglot",
                (JIT,),
            ),
            (
                "a TFLite model with an archive appended",
                lambda root: _attack(root, attacks.tflite_with_archive(), "m.tflite", "tflite"),
                "security.polyglot",
                (JIT,),
            ),
            (
                "a TFLite model that starts with a pickle",
                lambda root: _attack(
                    root, attacks.tflite_starting_with_pickle(), "m.tflite", "tflite"
                ),
                "security.polyglot",
                (LOAD,),
            ),
            (
                "an ONNX model named model.pt",
                lambda root: _attack(root, _EXAMPLE_ONNX.read_bytes(), "model.pt", "onnx"),
                "path.suffix-mismatch",
                (),
            ),
        ]
    ],
    *[
        Case(
            f"code: {payload.strip()!r}",
            _code_variant(payload),
            code,
            "manifest.yaml",
            loaders=(JIT, LOAD),
            fetched=True,
        )
        for payload, code in CODE_VARIANTS
    ],
]
