"""SemVer of model interfaces: the rules of registry.formats.interface on their own, then
`validate` on real Git histories of real ONNX and TFLite files whose inputs and outputs change
between versions (semver.breaking-change, semver.format-changed)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import pytest

from registry.formats.interface import (
    InterfaceChange,
    interface_changes,
    next_release,
    release_bump,
    required_bump,
)
from registry.tensors import Dim, TensorSpec
from tests.factories.example_models import tflite_dense
from tests.factories.manifests import VALID_REAL_MODELS, file_ref, manifest_data
from tests.factories.registries import write_version
from tests.helpers import PROJECT, REAL_MODELS, commit_all, findings, git, run, validate_json

Io = list[tuple[str, str, list[Dim] | None]]  # (name, dtype, shape) of each input or output


def spec(name: str, dtype: str = "float32", shape: tuple[Dim, ...] | None = (1, 3)) -> TensorSpec:
    return TensorSpec(name, dtype, shape)


def kinds(changes: list[InterfaceChange]) -> list[tuple[str, str]]:
    return [(c.kind, c.needs) for c in changes]


# --- registry.formats.interface ------------------------------------------------------------------


def test_an_identical_interface_has_no_change() -> None:
    inputs, outputs = [spec("x", shape=("batch", 3))], [spec("y", "int64", None)]
    assert interface_changes(inputs, outputs, list(inputs), list(outputs)) == []
    assert required_bump([]) == "patch"


@pytest.mark.parametrize(
    ("before", "after"),
    [(("batch", 3), ("n", 3)), (("batch", 3), (None, 3)), ((None, 3), ("batch", 3))],
)
def test_renaming_a_dynamic_dim_is_a_patch(before: tuple[Dim, ...], after: tuple[Dim, ...]) -> None:
    old, new = [spec("x", shape=before)], [spec("x", shape=after)]
    changes = interface_changes(old, [], new, []) + interface_changes([], old, [], new)
    assert kinds(changes) == [("dim-renamed", "patch")] * 2
    assert (
        changes[0].text() == f"input `x` symbolic dim renamed {_shape(before)} -> {_shape(after)}"
    )


def _shape(shape: tuple[Dim, ...]) -> str:
    return "[" + ", ".join("null" if d is None else str(d) for d in shape) + "]"


@pytest.mark.parametrize(
    ("before", "after", "input_needs", "output_needs"),
    [
        ((1, 3), ("batch", 3), "minor", "major"),  # inputs may accept more; outputs stay put
        ((1, 3), (None, 3), "minor", "major"),
        (("batch", 3), (1, 3), "major", "major"),
        ((1, 3), (1, 4), "major", "major"),
        ((1, 3), (1, 3, 1), "major", "major"),  # rank
        ((1, 3), None, "major", "major"),  # rank lost
        (None, (1, 3), "major", "major"),
        ((1, "a"), ("b", "c"), "minor", "major"),  # a rename beside a fixed dim made dynamic
    ],
)
def test_shape_changes(
    before: tuple[Dim, ...] | None,
    after: tuple[Dim, ...] | None,
    input_needs: str,
    output_needs: str,
) -> None:
    old, new = [spec("t", shape=before)], [spec("t", shape=after)]
    (as_input,) = interface_changes(old, [], new, [])
    (as_output,) = interface_changes([], old, [], new)
    assert (as_input.kind, as_input.needs) == ("input-shape", input_needs)
    assert (as_output.kind, as_output.needs) == ("output-shape", output_needs)
    assert as_input.before == (None if before is None else list(before))
    assert as_input.after == (None if after is None else list(after))


def test_inputs_added_removed_retyped_or_reordered_need_a_major_release() -> None:
    x, y = spec("x"), spec("y")
    assert kinds(interface_changes([x], [], [x, y], [])) == [("input-added", "major")]
    assert kinds(interface_changes([x, y], [], [x], [])) == [("input-removed", "major")]
    assert kinds(interface_changes([x], [], [spec("x", "float16")], [])) == [
        ("input-dtype", "major")
    ]
    (order,) = interface_changes([x, y], [], [y, x], [])
    assert (order.kind, order.needs, order.before, order.after) == (
        "input-order",
        "major",
        ["x", "y"],
        ["y", "x"],
    )
    assert order.text() == "order of inputs [`x`, `y`] -> [`y`, `x`]"


def test_outputs_may_be_added_after_the_others_only() -> None:
    a, b, c = spec("a"), spec("b"), spec("c", "int64", ("batch",))
    (added,) = interface_changes([], [a, b], [], [a, b, c])
    assert (added.kind, added.needs) == ("output-added", "minor")
    assert added.to_json() == {
        "kind": "output-added",
        "subject": "output `c`",
        "before": None,
        "after": {"name": "c", "dtype": "int64", "shape": ["batch"]},
        "needs": "minor",
        "text": "output `c` added (int64 [batch])",
    }
    # Inserted before `b`: `b` is no longer where a consumer reading by position finds it.
    inserted = interface_changes([], [a, b], [], [a, c, b])
    assert kinds(inserted) == [("output-added", "minor"), ("output-order", "major")]
    assert required_bump(inserted) == "major"


def test_outputs_removed_or_changed_need_a_major_release() -> None:
    a, b = spec("a"), spec("b")
    (removed,) = interface_changes([], [a, b], [], [a])
    assert (removed.kind, removed.needs, removed.after) == ("output-removed", "major", None)
    assert removed.text() == "output `b` removed (was float32 [1, 3])"
    (retyped,) = interface_changes([], [a], [], [spec("a", "float16")])
    assert retyped.text() == "output `a` dtype float32 -> float16"
    assert required_bump([removed, retyped]) == "major"


@pytest.mark.parametrize(
    ("old", "new", "bump"),
    [
        ("1.4.2", "1.4.3", "patch"),
        ("1.4.2", "1.5.0", "minor"),
        ("1.4.2", "1.5.7", "minor"),
        ("1.4.2", "2.0.0", "major"),
        ("1.4.2", "2.0.0-rc.1", "major"),  # a pre-release is judged by its core
        ("1.4.2", "1.4.3-alpha", "patch"),
        ("1.4.2", "1.4.3+build.5", "patch"),
        ("0.3.1", "0.3.2", "minor"),  # cargo: in 0.y.z a z bump is minor...
        ("0.3.1", "0.4.0", "major"),  # ... and a y bump major
        ("0.3.1", "1.0.0", "major"),
        ("0.0.3", "0.0.4", "major"),  # ... and in 0.0.z every bump is major
        ("0.0.3", "0.1.0", "major"),
        ("1.4.2", "1.4.2", None),
        ("1.4.2", "1.4.1", None),
        ("2.0.0-rc.1", "2.0.0", None),  # same core
        ("1.4", "1.5.0", None),
        ("1.4.2", "v2", None),
    ],
)
def test_release_bump(old: str, new: str, bump: str | None) -> None:
    assert release_bump(old, new) == bump


@pytest.mark.parametrize(
    ("old", "patch", "minor", "major"),
    [
        ("1.4.2", "1.4.3", "1.5.0", "2.0.0"),
        ("2.0.0-rc.1", "2.0.1", "2.1.0", "3.0.0"),
        ("0.3.1", "0.3.2", "0.3.2", "0.4.0"),
        ("0.0.3", "0.0.4", "0.0.4", "0.0.4"),
    ],
)
def test_next_release_is_the_smallest_release_allowing_the_bump(
    old: str, patch: str, minor: str, major: str
) -> None:
    order = ["patch", "minor", "major"]
    for bump, expected in (("patch", patch), ("minor", minor), ("major", major)):
        assert next_release(old, bump) == expected  # type: ignore[arg-type]
        allowed = release_bump(old, expected)
        assert allowed is not None and order.index(allowed) >= order.index(bump)
    with pytest.raises(ValueError, match="not a SemVer version"):
        next_release("one", "major")


# --- validate: real Git histories of real model files ------------------------------------

_ONNX_TYPES = {
    "float32": 1,
    "uint8": 2,
    "int8": 3,
    "int32": 6,
    "int64": 7,
    "bool": 9,
    "float16": 10,
}


def onnx_model(path: Path, inputs: Io, outputs: Io) -> Path:
    """A valid ONNX model (onnx.checker, strict shape inference) with exactly these inputs and
    outputs; each output is a constant of its dtype and shape (symbols as 1)."""
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    def info(name: str, dtype: str, shape: list[Dim] | None) -> Any:
        return helper.make_tensor_value_info(name, _ONNX_TYPES[dtype], shape)

    nodes = []
    for name, dtype, shape in outputs:
        concrete = [d if isinstance(d, int) else 1 for d in shape or []]
        value = np.zeros(concrete, helper.tensor_dtype_to_np_dtype(_ONNX_TYPES[dtype]))
        nodes.append(
            helper.make_node(
                "Constant", [], [name], value=numpy_helper.from_array(value, f"{name}_value")
            )
        )
    graph = helper.make_graph(
        nodes, "interface", [info(*i) for i in inputs], [info(*o) for o in outputs]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def _tensors(io: Io) -> list[dict[str, Any]]:
    return [{"name": n, "dtype": d, "shape": s} for n, d, s in io]


def add_model_version(
    root: Path, version: str, model: Path, fmt: str, inputs: Io, outputs: Io, name: str = "net"
) -> Path:
    """models/<name>/<version>/ holding a copy of `model` and a manifest declaring its I/O."""
    folder = root / "models" / name / version
    folder.mkdir(parents=True)
    artifact = f"model.{fmt}"
    shutil.copyfile(model, folder / artifact)
    data = manifest_data(VALID_REAL_MODELS["nmp.onnx"], name, version)
    data.update(
        format=fmt,
        artifact=file_ref(folder, artifact),
        input_shape=_tensors(inputs),
        output_schema=_tensors(outputs),
    )
    write_version(root, data)
    return folder


def add_onnx(root: Path, version: str, inputs: Io, outputs: Io, name: str = "net") -> Path:
    model = onnx_model(root.parent / "built" / name / version / "model.onnx", inputs, outputs)
    return add_model_version(root, version, model, "onnx", inputs, outputs, name)


X: Io = [("x", "float32", ["batch", 3])]
Y: Io = [("y", "float32", ["batch", 2])]


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    """main published net 1.0.0: x float32[batch, 3] -> y float32[batch, 2]."""
    root = tmp_path / "registry"
    root.mkdir()
    (root / "registry.yaml").write_text("name: semver\n")
    add_onnx(root, "1.0.0", X, Y)
    commit_all(root, "net 1.0.0", "2025-01-01T10:00:00+00:00")
    return root


def semver(report: dict[str, Any]) -> list[dict[str, Any]]:
    return findings(report, "semver.breaking-change") + findings(report, "semver.format-changed")


def only_breaking(root: Path, version: str, *paths: str | Path) -> dict[str, Any]:
    """Validate (all of `root`, or `paths`); the one finding is a breaking change of `version`."""
    code, report = validate_json(root, *paths)
    assert code == 1
    (finding,) = report["findings"]
    assert finding["code"] == "semver.breaking-change" and finding["severity"] == "error"
    assert finding["file"] == f"models/net/{version}/manifest.yaml"
    manifest = (root / finding["file"]).read_text().splitlines()
    assert manifest[finding["line"] - 1].startswith("version:")
    return dict(finding)


def passes(root: Path) -> None:
    code, report = validate_json(root)
    assert code == 0, report["findings"]
    assert semver(report) == []


def test_a_patch_with_the_same_interface_passes(registry: Path) -> None:
    add_onnx(registry, "1.0.1", X, Y)
    passes(registry)


def test_a_patch_may_rename_a_symbolic_dim(registry: Path) -> None:
    add_onnx(registry, "1.0.1", [("x", "float32", ["n", 3])], [("y", "float32", [None, 2])])
    passes(registry)


def test_a_patch_that_changes_a_shape_is_refused(registry: Path) -> None:
    add_onnx(registry, "1.0.1", [("x", "float32", ["batch", 4])], Y)
    finding = only_breaking(registry, "1.0.1")
    assert finding["message"] == (
        "1.0.1 is a patch release after 1.0.0, the highest release below it, but its interface "
        "changed in ways that need a major release: input `x` shape [batch, 3] -> [batch, 4] "
        "(needs major). Publish it as 2.0.0 (or a later major release, or a pre-release of "
        "one), or restore the interface of 1.0.0"
    )


def test_a_minor_release_may_add_an_output(registry: Path) -> None:
    add_onnx(registry, "1.1.0", X, [*Y, ("label", "int64", ["batch"])])
    passes(registry)


def test_a_patch_may_not_add_an_output(registry: Path) -> None:
    add_onnx(registry, "1.0.1", X, [*Y, ("label", "int64", ["batch"])])
    finding = only_breaking(registry, "1.0.1")
    assert "output `label` added (int64 [batch]) (needs minor)" in finding["message"]
    assert "Publish it as 1.1.0 " in finding["message"]


def test_a_minor_release_may_make_a_fixed_input_dim_dynamic(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    add_onnx(root, "1.0.0", [("x", "float32", [1, 3])], Y)
    commit_all(root, "net 1.0.0")
    add_onnx(root, "1.1.0", [("x", "float32", ["batch", 3])], Y)
    passes(root)


def test_a_minor_release_may_not_make_a_dynamic_input_dim_fixed(registry: Path) -> None:
    add_onnx(registry, "1.1.0", [("x", "float32", [1, 3])], Y)
    finding = only_breaking(registry, "1.1.0")
    assert "input `x` shape [batch, 3] -> [1, 3] (needs major)" in finding["message"]


@pytest.mark.parametrize(
    ("outputs", "change"),
    [
        ([("z", "float32", ["batch", 2])], "output `y` removed (was float32 [batch, 2])"),
        ([("y", "float16", ["batch", 2])], "output `y` dtype float32 -> float16 (needs major)"),
        ([("y", "float32", ["batch", 5])], "output `y` shape [batch, 2] -> [batch, 5]"),
        ([("y", "float32", [1, 2])], "output `y` shape [batch, 2] -> [1, 2] (needs major)"),
        ([("z", "int64", ["batch"]), *Y], "order of outputs [`y`] -> [`z`, `y`] (needs major)"),
    ],
)
def test_a_minor_release_may_not_remove_change_or_move_an_output(
    registry: Path, outputs: Io, change: str
) -> None:
    add_onnx(registry, "1.1.0", X, outputs)
    assert change in only_breaking(registry, "1.1.0")["message"]


@pytest.mark.parametrize(
    ("inputs", "change"),
    [
        ([*X, ("mask", "bool", ["batch"])], "input `mask` added (bool [batch])"),
        ([("other", "float32", ["batch", 3])], "input `x` removed (was float32 [batch, 3])"),
        ([("x", "float16", ["batch", 3])], "input `x` dtype float32 -> float16"),
    ],
)
def test_inputs_added_removed_or_retyped_need_a_major_release(
    registry: Path, inputs: Io, change: str
) -> None:
    add_onnx(registry, "1.1.0", inputs, Y)
    message = only_breaking(registry, "1.1.0")["message"]
    assert change in message and "Publish it as 2.0.0" in message
    shutil.rmtree(registry / "models/net/1.1.0")
    add_onnx(registry, "2.0.0", inputs, Y)
    passes(registry)


def test_a_major_release_may_change_anything(registry: Path) -> None:
    add_onnx(registry, "2.0.0", [("image", "uint8", [1, 8, 8])], [("scores", "int8", [1, 10])])
    passes(registry)


def test_a_pre_release_is_judged_by_its_core(registry: Path) -> None:
    breaking: Io = [("x", "float32", ["batch", 4])]
    add_onnx(registry, "2.0.0-rc.1", breaking, Y)
    passes(registry)
    add_onnx(registry, "1.1.0-rc.1", breaking, Y)
    finding = only_breaking(registry, "1.1.0-rc.1")
    assert finding["message"].startswith(
        "1.1.0-rc.1 (judged as its release 1.1.0) is a minor release after 1.0.0"
    )


def test_the_baseline_is_the_highest_release_not_a_pre_release(registry: Path) -> None:
    # 1.1.0-rc.1 was published with another interface (before this check existed): the
    # release 1.1.0 is still compared with 1.0.0, the highest *release* below it.
    add_onnx(registry, "1.1.0-rc.1", [("x", "float32", ["batch", 4])], Y)
    commit_all(registry, "an old pre-release")
    add_onnx(registry, "1.1.0", X, Y)
    passes(registry)
    shutil.rmtree(registry / "models/net/1.1.0")
    add_onnx(registry, "1.1.0", [("x", "float32", ["batch", 4])], Y)
    assert "after 1.0.0" in only_breaking(registry, "1.1.0")["message"]


def test_initial_development_follows_cargo(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    add_onnx(root, "0.1.0", X, Y)
    commit_all(root, "net 0.1.0")
    add_onnx(root, "0.1.1", X, [*Y, ("label", "int64", ["batch"])])  # z bump: a minor release
    passes(root)
    commit_all(root, "net 0.1.1")
    add_onnx(root, "0.1.2", [("x", "float32", ["batch", 4])], Y)
    message = only_breaking(root, "0.1.2")["message"]
    assert "0.1.2 is a minor release after 0.1.1" in message
    assert "Publish it as 0.2.0 " in message
    shutil.rmtree(root / "models/net/0.1.2")
    add_onnx(root, "0.2.0", [("x", "float32", ["batch", 4])], Y)  # y bump: a major release
    passes(root)


def test_format_change_is_a_warning_and_the_interface_is_still_compared(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    mfcc: Io = [("mfcc", "float32", [1, 16])]
    scores: Io = [("scores", "float32", [1, 4])]
    add_onnx(root, "1.0.0", mfcc, scores)
    commit_all(root, "net 1.0.0 in ONNX")
    lite = tmp_path / "dense.tflite"
    lite.write_bytes(tflite_dense(5))
    add_model_version(root, "1.0.1", lite, "tflite", mfcc, scores)
    code, report = validate_json(root)
    assert code == 0, report["findings"]
    (finding,) = report["findings"]
    assert (finding["code"], finding["severity"]) == ("semver.format-changed", "warning")
    assert finding["file"] == "models/net/1.0.1/manifest.yaml"
    assert "a tflite file, 1.0.0 is onnx" in finding["message"]
    assert run("validate", "--root", root, "--strict")[0] == 1
    # The same move with a narrower input: the interface decides, the format only warns.
    shutil.rmtree(root / "models/net/1.0.1")
    lite.write_bytes(tflite_dense(5, features=8))
    add_model_version(root, "1.1.0", lite, "tflite", [("mfcc", "float32", [1, 8])], scores)
    code, report = validate_json(root)
    assert code == 1
    assert [f["code"] for f in semver(report)] == [
        "semver.breaking-change",
        "semver.format-changed",
    ]
    assert "input `mfcc` shape [1, 16] -> [1, 8]" in semver(report)[0]["message"]


def test_what_a_torchscript_file_does_not_state_is_not_compared(tmp_path: Path) -> None:
    # TorchScript names no outputs and states no tensor dtype or shape: the ONNX export of the
    # same network is compared on what both state (the input's name, the outputs' positions).
    root = tmp_path / "registry"
    shutil.copytree(PROJECT / "models/tiny-convnet", root / "models/tiny-convnet")
    commit_all(root, "tiny-convnet 0.1.0")
    image: Io = [("image", "float32", ["batch", 1, 8, 8])]
    logits: Io = [("logits", "float32", ["batch", 2])]
    add_onnx(root, "0.1.1", image, logits, name="tiny-convnet")
    code, report = validate_json(root)
    assert code == 0, report["findings"]
    assert [f["code"] for f in semver(report)] == ["semver.format-changed"]
    shutil.rmtree(root / "models/tiny-convnet/0.1.1")
    add_onnx(root, "0.1.1", [("pixels", "float32", ["batch", 1, 8, 8])], logits, "tiny-convnet")
    code, report = validate_json(root)
    (breaking,) = findings(report, "semver.breaking-change")
    assert (
        "input `image` removed (was float32 [batch, 1, 8, 8]) (needs major)" in breaking["message"]
    )
    assert "Publish it as 0.2.0 " in breaking["message"]


def test_a_published_version_is_never_judged_again(registry: Path, tmp_path: Path) -> None:
    add_onnx(registry, "1.0.1", [("x", "float32", ["batch", 4])], Y)
    commit_all(registry, "published before the check existed")
    passes(registry)
    # Outside Git nothing is published: every version is new, and judged.
    copy = tmp_path / "copy"
    shutil.copytree(registry, copy, ignore=shutil.ignore_patterns(".git"))
    only_breaking(copy, "1.0.1")


def test_a_pull_request_against_its_base(registry: Path) -> None:
    git(registry, "checkout", "-q", "-b", "pull-request")
    add_onnx(registry, "1.0.1", [("x", "float32", ["batch", 4])], Y)
    commit_all(registry, "pull request", "2025-01-02T10:00:00+00:00")
    code, out, _ = run(
        "validate", "--root", registry, "--base", "main", "--changed-since", "main", "--format",
        "github",
    )  # fmt: skip
    assert code == 1
    assert "file=models/net/1.0.1/manifest.yaml,line=3,col=1,title=semver.breaking-change" in out


def test_the_baseline_is_inspected_when_not_validated_in_the_run(registry: Path) -> None:
    add_onnx(registry, "1.0.1", [("x", "float32", ["batch", 4])], Y)
    new = registry / "models/net/1.0.1"
    for _ in range(2):  # the second run takes the result and the inspection from the cache
        only_breaking(registry, "1.0.1", new)


def test_a_baseline_that_cannot_be_trusted_or_read_is_skipped(registry: Path) -> None:
    new = add_onnx(registry, "1.1.0", X, Y)
    # The baseline's file replaced by one with another interface: its SHA-256 no longer
    # matches its manifest, so it is not compared with (its own validation says why).
    onnx_model(registry / "models/net/1.0.0/model.onnx", [("x", "float32", ["batch", 9])], Y)
    code, report = validate_json(registry, new)
    assert code == 0, report["findings"]
    code, report = validate_json(registry)
    assert code == 1 and semver(report) == []
    assert "integrity.sha256-mismatch" in {f["code"] for f in report["findings"]}
    # Named by URL with no file beside it: not downloaded for a comparison.
    baseline = registry / "models/net/1.0.0/manifest.yaml"
    text = baseline.read_text().replace("path: model.onnx", "url: https://127.0.0.1:9/m.onnx")
    baseline.write_text(text)
    add_onnx(registry, "1.1.1", [("x", "float32", ["batch", 4])], Y)
    code, report = validate_json(registry, new, registry / "models/net/1.1.1")
    assert semver(report) and {f["file"] for f in semver(report)} == {
        "models/net/1.1.1/manifest.yaml"
    }  # against 1.1.0, the highest release below it; 1.1.0 itself has no baseline to read
    baseline.write_text("model_name: [unclosed\n")
    code, report = validate_json(registry, new)
    assert code == 0 and report["findings"] == []


# --- a real model against an edited copy ------------------------------------------------

NMP_ONNX = VALID_REAL_MODELS["nmp.onnx"]
NMP_TFLITE = VALID_REAL_MODELS["nmp.tflite"]


def _real(root: Path, version: str, model: Path, outputs: list[dict[str, Any]]) -> None:
    data = manifest_data(NMP_ONNX, "nmp", version)
    data["artifact"]["sha256"] = file_ref(model.parent, model.name)["sha256"]
    data["artifact"]["size"] = model.stat().st_size
    data["output_schema"] = outputs
    write_version(root, data, model)


def test_a_real_model_against_an_edited_copy(tmp_path: Path) -> None:
    import onnx

    root = tmp_path / "registry"
    root.mkdir()
    _real(root, "1.0.0", REAL_MODELS / "nmp.onnx", NMP_ONNX.outputs)
    commit_all(root, "nmp 1.0.0")
    # The copy loses its last output (graph.output edited with the onnx library, re-saved).
    model = onnx.load(str(REAL_MODELS / "nmp.onnx"))
    dropped = model.graph.output.pop()
    assert dropped.name == "StatefulPartitionedCall:0"
    edited = tmp_path / "edited" / "nmp.onnx"
    edited.parent.mkdir()
    onnx.save(model, str(edited))
    _real(root, "1.1.0", edited, NMP_ONNX.outputs[:2])
    code, report = validate_json(root)
    assert code == 1
    (finding,) = report["findings"]
    assert finding["code"] == "semver.breaking-change"
    assert finding["file"] == "models/nmp/1.1.0/manifest.yaml"
    assert (
        "output `StatefulPartitionedCall:0` removed (was float32 [batch, 172, 264]) "
        "(needs major)" in finding["message"]
    )
    assert "Publish it as 2.0.0" in finding["message"]
    shutil.move(root / "models/nmp/1.1.0", root / "models/nmp/2.0.0")
    text = (root / "models/nmp/2.0.0/manifest.yaml").read_text()
    (root / "models/nmp/2.0.0/manifest.yaml").write_text(text.replace("1.1.0", "2.0.0"))
    passes(root)


def test_the_same_real_model_converted_to_tflite(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    root.mkdir()
    _real(root, "1.0.0", REAL_MODELS / "nmp.onnx", NMP_ONNX.outputs)
    commit_all(root, "nmp 1.0.0")
    data = manifest_data(NMP_TFLITE, "nmp", "1.0.1")
    write_version(root, data, NMP_TFLITE.path)
    code, report = validate_json(root)
    assert code == 0, report["findings"]
    # Its `batch` dims are unknown in the TFLite file: renamed dynamic dims, a patch.
    assert [(f["code"], f["file"]) for f in report["findings"]] == [
        ("semver.format-changed", "models/nmp/1.0.1/manifest.yaml")
    ]


# --- what an attacker tried (red team) ----------------------------------------------------


def test_build_metadata_cannot_stand_for_a_new_version(registry: Path) -> None:
    """1.0.0+hotfix has 1.0.0's precedence: neither `latest` nor a consumer can order them, and
    it would slip a changed interface in as no release at all."""
    add_onnx(registry, "1.0.0+hotfix", X, [("y", "float32", ["batch", 9])])
    code, report = validate_json(registry)
    (twin,) = findings(report, "semver.same-precedence")
    assert code == 1 and twin["file"] == "models/net/1.0.0+hotfix/manifest.yaml"
    assert "Publish it as a new version number (e.g. 1.0.1)" in twin["message"]


def test_a_version_inserted_below_a_published_one_is_judged_against_it(registry: Path) -> None:
    add_onnx(registry, "1.2.0", X, Y)
    commit_all(registry, "net 1.2.0", "2025-01-02T10:00:00+00:00")
    add_onnx(registry, "1.1.0", X, [*Y, ("label", "int64", ["batch"])])  # 1.2.0 lacks `label`
    finding = only_breaking(registry, "1.1.0")
    assert "goes below the published 1.2.0" in finding["message"]
    assert "output `label` removed" in finding["message"]


def test_the_declared_interface_counts_where_the_file_states_nothing(tmp_path: Path) -> None:
    """A TorchScript file states no dtype: the same file re-declared as uint8 with another output
    name is a breaking change, as diff.json says."""
    root = tmp_path / "registry"
    shutil.copytree(PROJECT / "models/tiny-convnet", root / "models/tiny-convnet")
    commit_all(root, "tiny-convnet 0.1.0")
    shutil.copytree(root / "models/tiny-convnet/0.1.0", root / "models/tiny-convnet/0.1.1")
    manifest = root / "models/tiny-convnet/0.1.1/manifest.yaml"
    text = manifest.read_text().replace('version: "0.1.0"', 'version: "0.1.1"')
    manifest.write_text(text.replace("name: logits", "name: scores"))
    code, report = validate_json(root)
    (breaking,) = findings(report, "semver.breaking-change")
    assert code == 1 and "output `logits` removed" in breaking["message"]


def test_a_baseline_in_git_lfs_is_still_compared(registry: Path) -> None:
    """CI pulls Git LFS content only for the changed folders: the baseline's manifest is enough."""
    model = registry / "models/net/1.0.0/model.onnx"
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    size = model.stat().st_size
    model.write_text(
        f"version https://git-lfs.github.com/spec/v1\noid sha256:{digest}\nsize {size}\n"
    )
    new = add_onnx(registry, "1.0.1", [("x", "float32", ["batch", 4])], Y)
    only_breaking(registry, "1.0.1", new)
