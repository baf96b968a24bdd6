"""What modelreg verifies is what the loaders load: the TorchScript allowlist on ordinary
archives, the code judge's resolution rules, pickles read as the unpickler reads them, ONNX and
TFLite read whole, and the limits that keep hostile files cheap. (The attacks: tests/hostile.)"""

from __future__ import annotations

import ast
import contextlib
import importlib
import io
import json
import os
import pickle
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from registry.errors import FormatError
from registry.formats import inspect_file
from registry.formats.onnx_handler import OnnxHandler
from registry.formats.pickle_scan import scan_pickle
from registry.formats.polyglot import PICKLE_WINDOW, check_pickle_prefix
from registry.formats.tflite_handler import TfliteHandler
from registry.formats.torchscript_allowlist import is_allowed_global
from registry.formats.torchscript_code import (
    MAX_REFUSALS,
    CodeFile,
    judge_code,
    module_operator,
)
from registry.formats.torchscript_handler import allowlist
from registry.formats.torchscript_ops import OPERATORS
from registry.sandbox import Inspector
from tests.factories.torchscript_models import write_corpus
from tests.helpers import PROJECT, REAL_MODELS, error_codes, run, script, validate_json

EXAMPLE_TFLITE = PROJECT / "models/keyword-dense/2.0.0/model.tflite"


# -- the allowlist on ordinary archives --------------------------------------------------------
@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_corpus(tmp_path_factory.mktemp("torchscript-corpus"))


def test_every_ordinary_archive_is_accepted(corpus: list[Path]) -> None:
    """Common layers and model families, scripted, traced, frozen, optimized: the allowlist
    refuses none of them (read with the polyglot checks, as the sandbox reads)."""
    refused = {}
    for path in [*corpus, REAL_MODELS / "silero_vad.jit"]:
        if path.suffix == ".ptl":
            continue
        try:
            inspect_file("torchscript", path)
        except FormatError as exc:
            refused[path.name] = f"{exc.code}: {exc.message}"
    assert refused == {}
    assert len(corpus) > 500
    assert {p.suffix for p in corpus} == {".pt", ".ptl"}


def test_lite_archives_are_accepted_when_their_bytecode_is_torchs_compilation(
    corpus: list[Path], tmp_path: Path
) -> None:
    """A `.ptl` whose bytecode torch compiled from a graph its printed code no longer shows is
    refused (a few of the corpus: torch optimises the in-memory graph differently); the remedy
    the message gives, load and save again, makes every one of them accepted."""
    import torch

    lite = [p for p in corpus if p.suffix == ".ptl"]
    refused = []
    for path in lite:
        try:
            inspect_file("torchscript", path)
        except FormatError as exc:
            assert exc.code == "security.torchscript-bytecode", exc.message
            assert "save it again with _save_for_lite_interpreter" in exc.message
            refused.append(path)
    assert len(lite) > 100 and len(refused) <= len(lite) // 20
    for path in refused:
        again = tmp_path / path.name
        module = torch.jit.load(str(path))  # type: ignore[no-untyped-call]
        module._save_for_lite_interpreter(str(again))
        assert inspect_file("torchscript", again).operators


def test_the_allowlist_is_what_the_derivation_gives() -> None:
    """registry/formats/torchscript_ops.json is generated from real archives; editing it by hand,
    or a torch that writes other archives, shows here."""
    done = script("scripts/derive_torchscript_allowlist.py", "--check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert 300 < len(OPERATORS) < 1000
    assert all(op.split("::")[0] in ("aten", "prim", "quantized") for op in OPERATORS)
    dangerous = {"aten::save", "aten::from_file", "aten::load", "prim::rpc_async"}
    assert not dangerous & OPERATORS


def test_scripted_archives_run_in_the_sandbox(corpus: list[Path]) -> None:
    chosen = [p for p in corpus if p.name.startswith(("text-classifier.", "quantized-dynamic."))]
    with Inspector() as inspector:
        for path in chosen:
            info = inspector.inspect("torchscript", path)
            assert info.operators and all("::" in op for op in info.operators)


# -- how the code judge resolves names ----------------------------------------------------------
@pytest.mark.parametrize(
    ("chain", "operator"),
    [
        ("torch.add", "aten::add"),
        ("torch.autograd.save", "aten::save"),
        ("torch.autograd.autograd.from_file", "aten::from_file"),
        ("ops.prim.device", "prim::device"),
        ("ops.quantized.autograd.save", "aten::save"),
        ("ops.c10d.allreduce", "c10d::allreduce"),
        ("torch.nn.relu", None),
    ],
)
def test_operators_resolve_as_torch_resolves_them(chain: str, operator: str | None) -> None:
    assert module_operator(chain.split(".")) == operator


def _judge(body: str) -> str | None:
    """The finding code of a method body inside a module class, or None when accepted."""
    code = (
        "class M(Module):\n  __parameters__ = []\n  __buffers__ = []\n  training : bool\n"
        "  def forward(self: __torch__.M,\n    x: Tensor) -> Tensor:\n" + body
    )
    try:
        judge_code([CodeFile("a/code/__torch__.py", "__torch__", code.encode())], allowlist())
    except FormatError as exc:
        return exc.code
    return None


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("    return torch.relu(x)\n", None),
        ("    _0 = torch.relu\n    return _0(x)\n", None),
        ("    return (self).forward(x, )\n", None),
        ('    return torch.save(x, "p")\n', "security.torchscript-op"),
        ("    _0 = torch.save\n    return x\n", "security.torchscript-op"),
        ('    return x.save("p")\n', "security.torchscript-op"),
        ('    return "p".from_file(True, 1)\n', "security.torchscript-op"),
        ("    torch = x\n    return torch.relu(x)\n", "security.torchscript-op"),
        ('    return getattr(torch, "save")(x)\n', "security.torchscript-code"),
        ("    _0 = getattr(self, x)\n    return x\n", "security.torchscript-op"),
        ("    return open(x)\n", "security.torchscript-op"),
        ("    return os.system(x)\n", "security.torchscript-op"),
        ("    import os\n    return x\n", "security.torchscript-code"),
        ("    return x + x\n", "security.torchscript-code"),
        ("    return lambda: x\n", "security.torchscript-code"),
        ("    return __torch__.Missing.__new__(__torch__.Missing)\n", "security.torchscript-op"),
        ("    return ops.c10d.allreduce(x)\n", "security.torchscript-op"),
        ("    return x\n\tpass\n", "security.torchscript-code"),
        ("    return x\x00\n", "security.torchscript-code"),
    ],
)
def test_the_judge(body: str, code: str | None) -> None:
    assert _judge(body) == code


def test_every_refused_operator_is_named_at_once() -> None:
    body = '    _0 = torch.from_file("p", True, 1)\n    return torch.save(_0, "q")\n'
    code = (
        "class M(Module):\n  __parameters__ = []\n  __buffers__ = []\n"
        "  def forward(self: __torch__.M,\n    x: Tensor) -> Tensor:\n" + body
    )
    with pytest.raises(FormatError) as caught:
        judge_code([CodeFile("a/code/__torch__.py", "__torch__", code.encode())], allowlist())
    assert "aten::from_file" in caught.value.message and "aten::save" in caught.value.message


def test_a_class_member_is_not_an_operator() -> None:
    """`stft` is an operator torch has and real models do not call; a submodule of that name
    is an ordinary attribute (silero_vad.jit has one)."""
    code = (
        "class M(Module):\n  __parameters__ = []\n  __buffers__ = []\n"
        "  stft : __torch__.S\n"
        "  def forward(self: __torch__.M,\n    x: Tensor) -> Tensor:\n"
        "    stft = self.stft\n    return (stft).forward(x, )\n"
        "class S(Module):\n  __parameters__ = []\n  __buffers__ = []\n"
        "  def forward(self: __torch__.S,\n    x: Tensor) -> Tensor:\n    return x\n"
    )
    summary = judge_code([CodeFile("a/code/__torch__.py", "__torch__", code.encode())], allowlist())
    assert summary.classes == {"__torch__.M", "__torch__.S"}
    assert ast.parse(code)  # the judge parsed exactly this


def test_self_is_the_enclosing_class_whatever_its_annotation() -> None:
    """torch types `self` as the class the method is in and ignores the annotation: a method of
    M annotated as B does not make M's tensor attribute w a B's object whose own methods `set_`
    and `as_strided` are allowed; they are the tensor operators."""
    code = (
        "class M(Module):\n  __parameters__ = []\n  __buffers__ = []\n  w : Tensor\n"
        "  def forward(self: __torch__.B,\n    x: Tensor) -> Tensor:\n"
        "    w = self.w\n    return w.as_strided([1], [1])\n"
        "class B(Module):\n  __parameters__ = []\n  __buffers__ = []\n  w : __torch__.C\n"
        "  def forward(self: __torch__.B,\n    x: Tensor) -> Tensor:\n    return x\n"
        "class C(Module):\n  __parameters__ = []\n  __buffers__ = []\n"
        "  def as_strided(self: __torch__.C,\n    p: List[int], q: List[int]) -> Tensor:\n"
        "    return torch.zeros(p)\n"
    )
    with pytest.raises(FormatError) as caught:
        judge_code([CodeFile("a/code/__torch__.py", "__torch__", code.encode())], allowlist())
    assert "aten::as_strided" in caught.value.message


def test_a_file_under_torch_classes_must_be_as_torch_writes_it() -> None:
    """torch never reads code/__torch__/torch/classes/*.py (it writes them empty): one that
    defines a class would make the judge take a C++ class for one of the archive's own."""
    main = "class M(Module):\n  __parameters__ = []\n  __buffers__ = []\n"
    fake = "class _ScriptProfile(Module):\n  __parameters__ = []\n  __buffers__ = []\n"
    module = "__torch__.torch.classes.profiling"
    files = [CodeFile("a/code/__torch__.py", "__torch__", main.encode())]
    judge_code(
        [*files, CodeFile("a/code/__torch__/torch/classes/profiling.py", module, b"")], allowlist()
    )
    with pytest.raises(FormatError) as caught:
        judge_code(
            [
                *files,
                CodeFile("a/code/__torch__/torch/classes/profiling.py", module, fake.encode()),
            ],
            allowlist(),
        )
    assert caught.value.code == "security.torchscript-code"


def test_many_refused_names_stop_early() -> None:
    """A file calling 100,000 different unknown operators is refused at the hundredth, not after
    judging (and comparing) every one: a hostile file stays cheap."""
    body = "".join(f"    x = torch.o{i:06d}(x)\n" for i in range(100_000)) + "    return x\n"
    code = (
        "class M(Module):\n  __parameters__ = []\n  __buffers__ = []\n"
        "  def forward(self: __torch__.M,\n    x: Tensor) -> Tensor:\n" + body
    )
    with pytest.raises(FormatError) as caught:
        judge_code([CodeFile("a/code/__torch__.py", "__torch__", code.encode())], allowlist())
    assert caught.value.message.endswith(f"and {MAX_REFUSALS - 5} more")


# -- pickles read as the unpickler reads them -----------------------------------------------------
class _Recorder(pickle.Unpickler):
    def __init__(self, data: bytes) -> None:
        super().__init__(io.BytesIO(data))
        self.found: list[tuple[str, str]] = []

    def find_class(self, module: str, name: str) -> object:
        self.found.append((module, name))
        return lambda *args: None


@pytest.mark.parametrize(
    "data",
    [
        b"c__torch__ os\nsystem\n(S'x'\ntR.",  # a space in the module line
        b"ccollections\nOrderedDict\n)R.",
        b"c__torch__.M\nClass x\n)R.",  # a space in the name line
        b"cos\\x20x\nsystem\n)R.",  # what pickletools would decode as an escape
    ],
)
def test_global_is_read_as_pickle_reads_it(data: bytes) -> None:
    recorder = _Recorder(data)
    with contextlib.suppress(Exception):  # only what it asked for matters here
        recorder.load()
    found = [(g.module, g.name) for g in scan_pickle(data).globals]
    assert found == recorder.found


def test_a_module_with_a_space_is_not_an_archive_class() -> None:
    [found] = scan_pickle(b"c__torch__ os\nsystem\n(S'x'\ntR.").globals
    assert found.module == "__torch__ os" and not is_allowed_global(found)


_SYSTEM = b"\x8c\x02os\x8c\x06system\x93\x8c\x04true\x85R."


@pytest.mark.parametrize(
    "before",
    [
        b"",
        b"C\x01x\x980",  # SHORT_BINBYTES, READONLY_BUFFER (protocol 5), POP
        b"\x96" + (1).to_bytes(8, "little") + b"xKAa0",  # BYTEARRAY8, APPEND, POP
        b"K\x01.",  # a first pickle that stops: torch.load reads the next one
    ],
)
def test_a_pickle_prefix_is_read_by_the_real_unpickler(before: bytes) -> None:
    head = before + _SYSTEM + bytes(100)
    with pytest.raises(FormatError) as caught:
        check_pickle_prefix(head, whole_file=True)
    assert caught.value.code == "security.polyglot" and "os.system" in caught.value.message


def test_a_pickle_running_past_the_window_is_refused() -> None:
    """A string that swallows the first 64 KiB: what torch.load finds after it is unknown."""
    head = b"\x8e" + (1 << 20).to_bytes(8, "little") + bytes(PICKLE_WINDOW - 9)
    with pytest.raises(FormatError):
        check_pickle_prefix(head, whole_file=False)
    check_pickle_prefix(head, whole_file=True)  # the file ends there: torch.load fails too


def test_real_model_files_are_no_pickles() -> None:
    for path in [*REAL_MODELS.glob("*.onnx"), *REAL_MODELS.glob("*.tflite"), EXAMPLE_TFLITE]:
        head = path.read_bytes()[:PICKLE_WINDOW]
        check_pickle_prefix(head, whole_file=path.stat().st_size <= len(head))


# -- ONNX ---------------------------------------------------------------------------------------
def _mvn_model(path: Path) -> Path:
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("MeanVarianceNormalization", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 4, 4])],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    return path


def test_onnx_strict_shape_inference_only_warns(tmp_path: Path) -> None:
    """onnx's own function-body inference fails on MeanVarianceNormalization with its default
    axes, which onnxruntime runs: the plain checker decides, inference warns."""
    import onnxruntime

    path = _mvn_model(tmp_path / "mvn.onnx")
    onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    info = OnnxHandler().inspect(path)
    assert [code for code, _ in info.coded_warnings()] == ["format.shape-inference"]


def _weighted_model(path: Path, case: str) -> Path:
    """A model whose weights (2048 x 64) are over the size inference first sees without data,
    and an output declared right or wrong for what inference can tell of it."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2048])
    weights = numpy_helper.from_array(np.ones((2048, 64), np.float32), "W")
    as_floats = helper.make_tensor("W", TensorProto.FLOAT, [2048, 64], [1.0] * (2048 * 64))
    shape = numpy_helper.from_array(np.array([4, 16], np.int64), "S")
    rank_1025 = numpy_helper.from_array(np.ones(1025, np.int64), "B")
    matmul = [helper.make_node("MatMul", ["x", "W"], ["y"])]
    reshape = [
        helper.make_node("MatMul", ["x", "W"], ["m"]),
        helper.make_node("Reshape", ["m", "S"], ["y"]),
    ]
    fill = [helper.make_node("ConstantOfShape", ["B"], ["y"])]
    # Most bytes in tensors inference may read (768 KB beside the 512 KB of weights): checked
    # and inferred from the file's own bytes.
    small = [numpy_helper.from_array(np.ones((1, 1024), np.float32), f"s{i}") for i in range(192)]
    nodes, inputs, initializers, out = {
        # The Reshape's small shape is read: [4, 16], not what is declared.
        "reshape-read": (reshape, [x], [weights, shape], [8, 8]),
        "reshape-right": (reshape, [x], [weights, shape], [4, 16]),
        "weights-in-float-data": (matmul, [x], [as_floats], [1, 65]),
        # Inference reads a value over the size: without it, it would fail, with it it passes.
        "large-value-read-right": (fill, [], [rank_1025], [1] * 1025),
        "large-value-read-wrong": (fill, [], [rank_1025], [1] * 1024),
        "mostly-small-tensors-right": (matmul, [x], [weights, *small], [1, 64]),
        "mostly-small-tensors-wrong": (matmul, [x], [weights, *small], [1, 63]),
    }[case]
    graph = helper.make_graph(
        nodes,
        "g",
        inputs,
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out)],
        initializers,
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


@pytest.mark.parametrize(
    ("case", "warns"),
    [
        ("reshape-read", True),
        ("reshape-right", False),
        ("weights-in-float-data", True),
        ("large-value-read-right", False),
        ("large-value-read-wrong", True),
        ("mostly-small-tensors-right", False),
        ("mostly-small-tensors-wrong", True),
    ],
)
def test_onnx_inference_without_the_weights_warns_as_the_whole_file(
    tmp_path: Path, case: str, warns: bool
) -> None:
    """Inference first runs on the model without its weights (the file's cost twice over, for
    a large one); what it warns must be what onnx's strict inference of the whole file says."""
    import onnx
    from onnx import shape_inference

    path = _weighted_model(tmp_path / f"{case}.onnx", case)
    try:
        shape_inference.infer_shapes(onnx.load(path), check_type=True, strict_mode=True)
        whole_file: list[str] = []
    except Exception as exc:  # noqa: BLE001 - onnx's inference errors arrive in many types
        whole_file = [str(exc).splitlines()[0]]
    warnings = list(OnnxHandler().inspect(path).warnings)
    assert bool(warnings) is warns is bool(whole_file)
    assert all(w in m for w, m in zip(whole_file, warnings, strict=True))


@pytest.mark.parametrize(
    "path",
    [
        PROJECT / "models/iris-mlp/1.0.0/model.onnx",
        REAL_MODELS / "silero_vad.onnx",
        REAL_MODELS / "nmp.tflite",
        REAL_MODELS / "silero_vad.jit",
    ],
    ids=lambda path: path.name,
)
def test_a_model_is_read_within_the_smallest_memory_limit_a_registry_may_set(path: Path) -> None:
    """limits.sandbox.memory_mb may be as low as 256: the readers allocate for the file they
    read (the ONNX reader once asked for a 2 GiB buffer, whatever the file's size)."""
    from registry.sandbox import Inspector, SandboxLimits

    fmt = {".onnx": "onnx", ".tflite": "tflite", ".jit": "torchscript"}[path.suffix]
    with Inspector(SandboxLimits(memory_mb=256)) as inspector:
        assert inspector.inspect(fmt, path).outputs


def test_an_onnx_file_over_2_gib_gets_a_message_that_says_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "huge.onnx"
    with path.open("wb") as handle:
        handle.write((PROJECT / "models/iris-mlp/1.0.0/model.onnx").read_bytes())
        handle.truncate(4 << 30)  # sparse: no disk is used
    with pytest.raises(FormatError) as caught:
        OnnxHandler().inspect(path)
    assert caught.value.code == "format.invalid"
    assert "external data" in caught.value.message and "2 GiB" in caught.value.message


# -- TFLite -------------------------------------------------------------------------------------
def _aliasing_tflite(count: int) -> bytes:
    """A model whose subgraph lists one tensor table `count` times (aliasing)."""
    import flatbuffers

    # The builder functions live in the modules the tflite package names after each table.
    Buffer, Model, SubGraph, Tensor = (
        importlib.import_module(f"tflite.{n}") for n in ("Buffer", "Model", "SubGraph", "Tensor")
    )

    b = flatbuffers.Builder(1024)
    Buffer.BufferStart(b)
    buffer = Buffer.BufferEnd(b)
    name = b.CreateString("x")
    Tensor.TensorStartShapeVector(b, 2)
    b.PrependInt32(4)
    b.PrependInt32(1)
    shape = b.EndVector()
    Tensor.TensorStart(b)
    Tensor.TensorAddShape(b, shape)
    Tensor.TensorAddName(b, name)
    tensor = Tensor.TensorEnd(b)
    SubGraph.SubGraphStartTensorsVector(b, count)
    for _ in range(count):
        b.PrependUOffsetTRelative(tensor)
    tensors = b.EndVector()
    SubGraph.SubGraphStartInputsVector(b, 1)
    b.PrependInt32(0)
    inputs = b.EndVector()
    SubGraph.SubGraphStart(b)
    SubGraph.SubGraphAddTensors(b, tensors)
    SubGraph.SubGraphAddInputs(b, inputs)
    SubGraph.SubGraphAddOutputs(b, inputs)
    graph = SubGraph.SubGraphEnd(b)
    Model.ModelStartSubgraphsVector(b, 1)
    b.PrependUOffsetTRelative(graph)
    graphs = b.EndVector()
    Model.ModelStartBuffersVector(b, 1)
    b.PrependUOffsetTRelative(buffer)
    buffers = b.EndVector()
    Model.ModelStart(b)
    Model.ModelAddVersion(b, 3)
    Model.ModelAddSubgraphs(b, graphs)
    Model.ModelAddBuffers(b, buffers)
    b.Finish(Model.ModelEnd(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def test_aliased_tables_are_refused_fast(tmp_path: Path) -> None:
    path = tmp_path / "alias.tflite"
    path.write_bytes(_aliasing_tflite(6000))
    assert 20_000 < path.stat().st_size < 30_000
    started = time.process_time()
    with pytest.raises(FormatError) as caught:
        TfliteHandler().inspect(path)
    assert time.process_time() - started < 5
    assert caught.value.code == "format.invalid" and "aliasing" in caught.value.message


def test_a_tflite_model_over_4_gib_is_read_in_the_sandbox(tmp_path: Path) -> None:
    """Weights addressed past 4 GiB: the file is mapped, and mapping is not allocating."""
    from tests.factories.example_models import tflite_dense

    offset = (4 << 30) + 4096
    path = tmp_path / "large.tflite"
    with path.open("wb") as handle:
        handle.write(tflite_dense(3, 16, weights_offset=offset))
        handle.seek(offset)
        handle.write(os.urandom(4 * 16 * 4))
    assert path.stat().st_size > 4 << 30
    with Inspector() as inspector:
        info = inspector.inspect("tflite", path)
    assert info.parameter_count == 4 * 16 + 4


def test_inspect_names_the_code_of_every_refusal(tmp_path: Path) -> None:
    text = tmp_path / "notes.onnx"
    text.write_text("not a model\n")
    for path in (REAL_MODELS / "facenet_pnet.pt", text):
        code, _, err = run("inspect", path)
        assert code == 1 and "format.unrecognized" in err, err
    code, _, err = run("inspect", tmp_path / "missing.onnx")
    assert code == 1 and "not a file" in err


def test_a_scaffold_keeps_the_exporters_dim_symbols(tmp_path: Path) -> None:
    """`?` and an exporter's expression are symbols as the file names them: `modelreg add`
    copies them, and the manifest it writes validates."""
    import onnx
    from onnx import TensorProto, helper

    dims: list[str | int | None] = ["?", "(floor(height/2 - 1/2) + 1)*w", 4]
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, dims)],
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 17)],
        producer_name="pytorch",
        producer_version="2.13.0",
    )
    source = tmp_path / "dims.onnx"
    onnx.save(model, source)
    root = tmp_path / "registry"
    (root / "models").mkdir(parents=True)
    (root / "registry.yaml").write_text("name: dims\n")
    code, _, err = run(
        "add",
        source,
        "--root",
        root,
        "--name",
        "dims",
        "--version",
        "1.0.0",
        "--license",
        "MIT",
        "--risk-tier",
        "tier-1",
        "--publisher",
        "tests",
        "--intended-use",
        "Checks that symbolic dims survive the scaffold.",
    )
    assert code == 0, err
    code, report = validate_json(root)
    assert code == 0, report["findings"]
    assert report["versions"][0]["model_info"]["inputs"][0]["shape"] == dims
    manifest = root / "models/dims/1.0.0/manifest.yaml"
    manifest.write_text(manifest.read_text().replace('"?"', json.dumps("?\n"), 1))
    code, report = validate_json(root)  # printable text only: a newline is not a symbol
    assert code == 1 and "schema.pattern" in error_codes(report)


def test_add_refuses_a_file_named_for_another_format(tmp_path: Path) -> None:
    source = tmp_path / "model.pt"
    source.write_bytes((PROJECT / "models/iris-mlp/1.0.0/model.onnx").read_bytes())
    root = tmp_path / "registry"
    (root / "models").mkdir(parents=True)
    code, _, err = run("add", source, "--root", root, "--name", "iris", "--version", "1.0.0")
    assert code == 1 and "path.suffix-mismatch" in err and "an ONNX model" in err
    assert not (root / "models/iris").exists()


def _refused_by_the_checker(path: Path) -> Path:
    """A model every earlier check lets through and onnx.checker refuses (no such operator)."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("NoSuchOperator", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def _over_the_element_limit(path: Path) -> Path:
    """A tensor that declares 2**42 elements and holds none: refused before the checker's turn."""
    import onnx
    from onnx import TensorProto, helper

    huge = TensorProto(name="H", data_type=TensorProto.FLOAT, dims=[1 << 21, 1 << 21])
    graph = helper.make_graph(
        [helper.make_node("Identity", ["H"], ["y"])],
        "g",
        [],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1 << 21, 1 << 21])],
        [huge],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def _with_external_data(path: Path) -> Path:
    import onnx

    model = onnx.load(_weighted_model(path.with_name("inside.onnx"), "reshape-right"))
    onnx.save(model, path, save_as_external_data=True, location="weights.bin", size_threshold=0)
    return path


def _not_protobuf(path: Path) -> Path:
    path.write_bytes(b"\x08\x07" + b"\xff" * 64)
    return path


_BESIDE_CASES: dict[str, Callable[[Path], Path]] = {
    "example": lambda p: PROJECT / "models/iris-mlp/1.0.0/model.onnx",
    "silero-vad": lambda p: REAL_MODELS / "silero_vad.onnx",
    "nmp": lambda p: REAL_MODELS / "nmp.onnx",
    "logreg-iris": lambda p: REAL_MODELS / "logreg_iris.onnx",
    "mul-1": lambda p: REAL_MODELS / "mul_1.onnx",
    "reshape-read": lambda p: _weighted_model(p, "reshape-read"),
    "mostly-small-tensors-wrong": lambda p: _weighted_model(p, "mostly-small-tensors-wrong"),
    "large-value-read-wrong": lambda p: _weighted_model(p, "large-value-read-wrong"),
    "refused-by-the-checker": _refused_by_the_checker,
    "over-the-element-limit": _over_the_element_limit,
    "external-data": _with_external_data,
    "not-protobuf": _not_protobuf,
}


def _outcome(path: Path) -> dict[str, Any]:
    try:
        return OnnxHandler().inspect(path).to_json()
    except FormatError as exc:
        return {"code": exc.code, "message": exc.message}


@pytest.mark.parametrize("case", sorted(_BESIDE_CASES))
def test_onnx_checked_beside_the_parse_gives_what_checked_in_turn_gives(
    tmp_path: Path, case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checker's parse runs in a child beside the Python parse (a large file's time): the
    result, warnings and refusals included, is the one the checker run in its turn gives, and
    the checker runs in the parent only when the child could not say it passed."""
    from registry.formats import onnx_handler

    path = _BESIDE_CASES[case](tmp_path / "model.onnx")
    in_turn = _outcome(path)
    calls = tmp_path / "checker-calls"
    real_check = onnx_handler._check

    def recorded(data: bytes, folder: Path | None) -> None:
        with calls.open("a") as log:
            log.write(f"{os.getpid()}\n")
        real_check(data, folder)

    monkeypatch.setattr(onnx_handler, "_check", recorded)
    monkeypatch.setattr(onnx_handler, "CHECK_BESIDE_BYTES", 0)  # every file, not only large ones
    assert _outcome(path) == in_turn
    pids = calls.read_text().split() if calls.exists() else []
    here = str(os.getpid())
    beside = len(pids) - pids.count(here)
    refused = in_turn.get("message", "")
    if refused.startswith("onnx.checker") or case == "external-data":
        # Refused there, or blind there to the data beside the model: checked again here.
        assert pids.count(here) == 1
        assert beside == 1 or case == "external-data"  # that child is stopped, maybe first
    elif refused:
        assert here not in pids and beside <= 1  # refused before the checker's turn
    else:
        assert pids == [pids[0]] and pids[0] != here  # passed beside: not parsed again here
