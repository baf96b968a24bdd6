"""TorchScript, statically, read the way torch.jit.load reads it.

torch.jit.load runs code from the archive, so this handler calls it only on code already judged
(lite archives, to compile their bytecode again: lite_recompile). It reads the zip the
way torch's reader does (zipstrict, with Python's zipfile and torch's reader as cross-checks), gives
every entry a role by its case-folded name (as torch looks names up), checks every pickle opcode by
opcode against an allowlist, judges every line of code and of lite bytecode against the operators
real models use (torchscript_code, torchscript_bytecode), requires lite bytecode to be torch's own
compilation of that judged code (lite_recompile), and reads `forward` from the code.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from registry.errors import FormatError
from registry.formats import torchscript_ops as ops
from registry.formats.base import ModelInfo
from registry.formats.lite_recompile import check_compiled
from registry.formats.pickle_scan import Global, PickleScanError, PickleSummary, scan_pickle
from registry.formats.torchscript_allowlist import is_allowed_global
from registry.formats.torchscript_bytecode import judge_bytecode
from registry.formats.torchscript_code import (
    Allowlist,
    CodeFile,
    CodeSummary,
    judge_code,
    module_of,
)
from registry.formats.zipagreement import torch_agrees, zipfile_agrees
from registry.formats.zipstrict import Entry, StrictZip, unreadable
from registry.tensors import UNSTATED_DTYPE, TensorSpec

if TYPE_CHECKING:
    from registry.sandbox.limits import SandboxLimits


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    max_entries: int = 10_000  # real archives hold one entry per tensor: hundreds
    max_total_size: int = 64 << 30
    max_ratio: float = 200.0
    max_pickle_size: int = 256 << 20
    max_code_size: int = 64 << 20


def allowlist() -> Allowlist:
    """What code and bytecode may use, from torchscript_ops.json (derived from real archives)."""
    return Allowlist(
        operators=set(ops.OPERATORS),
        builtins=set(ops.BUILTINS),
        types=set(ops.TYPES),
        class_bases=set(ops.CLASS_BASES),
        torchbind=set(ops.TORCHBIND_CLASSES),
        torchbind_methods=set(ops.TORCHBIND_METHODS),
        instructions=set(ops.INSTRUCTIONS),
        bytecode_versions=set(ops.BYTECODE_VERSIONS),
    )


# What each entry of an archive is, by its case-folded name inside the root folder: what torch's
# writer produces (torch.jit.save, _save_for_lite_interpreter, extra files), nothing else.
_ROLES = (
    ("pickle", re.compile(r"(data|constants|bytecode|traced_inputs)\.pkl")),
    ("version", re.compile(r"(\.data/)?version")),
    ("text", re.compile(r"byteorder|\.data/serialization_id|\.format_version|\.storage_alignment")),
    ("tensor", re.compile(r"(data|constants|traced_inputs)/\d+")),
    ("code", re.compile(r"code/__torch__(/[a-z0-9_]+)*\.py")),
    ("pickle", re.compile(r"code/__torch__(/[a-z0-9_]+)*\.py\.debug_pkl")),
    ("extra", re.compile(r"extra/[^/]+")),
)
_SCALAR_TYPES = {"int": "int64", "float": "float64", "bool": "bool", "str": "string"}


def _role(relative: str) -> str:
    folded = relative.lower()
    for role, pattern in _ROLES:
        if pattern.fullmatch(folded):
            return role
    raise FormatError(
        "format.unsafe-archive",
        f"entry {relative} has no role in a TorchScript archive (torch.jit.save never writes it)",
    )


def _annotation(node: ast.expr | None) -> str:
    """A TorchScript type annotation as a dtype; `tensor` is a tensor of unstated dtype."""
    if node is None:
        return UNSTATED_DTYPE
    if isinstance(node, ast.Name):
        if node.id == "Tensor":
            return UNSTATED_DTYPE
        return _SCALAR_TYPES.get(node.id, node.id.lower())
    if isinstance(node, ast.Attribute):
        return node.attr.lower()
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        inner = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        args = ",".join(_annotation(e) for e in inner)
        kind = {"List": "sequence", "Optional": "optional", "Dict": "map", "Tuple": "tuple"}
        return f"{kind.get(node.value.id, node.value.id.lower())}<{args}>"
    if isinstance(node, ast.Constant) and node.value is None:
        return "none"
    return "unknown"


def _spec(name: str, dtype: str) -> TensorSpec:
    # Scalars have rank 0; a tensor's shape is not stated anywhere in the archive.
    return TensorSpec(name, dtype, () if dtype in _SCALAR_TYPES.values() else None)


def forward_signature(
    code: CodeSummary, root_class: Global
) -> tuple[list[TensorSpec], list[TensorSpec]]:
    """Inputs and outputs of the root class's `forward`, read from its parsed code."""
    tree = code.sources.get(root_class.module)
    found = next(
        (
            node
            for node in tree.body
            if isinstance(node, ast.ClassDef) and node.name == root_class.name
        )
        if tree is not None
        else iter(()),
        None,
    )
    if found is None:
        raise FormatError("format.invalid", f"the archive's code has no class {root_class.name}")
    # A scripted module with overloads (nn.LSTM as the root) has forward__0, forward__1, ...
    methods = {n.name: n for n in found.body if isinstance(n, ast.FunctionDef)}
    forward = methods.get("forward", methods.get("forward__0"))
    if forward is None:
        raise FormatError(
            "format.invalid", f"class {root_class.name} in the archive has no forward()"
        )
    inputs = [_spec(a.arg, _annotation(a.annotation)) for a in forward.args.args[1:]]
    returned = forward.returns
    if isinstance(returned, ast.Subscript) and _annotation(returned).startswith("tuple<"):
        elements = (
            returned.slice.elts if isinstance(returned.slice, ast.Tuple) else [returned.slice]
        )
        outputs = [_spec(f"output_{i}", _annotation(e)) for i, e in enumerate(elements)]
    else:
        outputs = [_spec("output_0", _annotation(returned))]
    return inputs, outputs


def root_folder(archive: StrictZip) -> str:
    """The folder every entry sits in; torch takes its name from the first entry."""
    first = archive.entries[0].name if archive.entries else ""
    root = first.split("/", 1)[0]
    outside = [e.name for e in archive.entries if not e.name.startswith(f"{root}/")]
    if "/" not in first or outside:
        raise FormatError(
            "format.invalid",
            "a TorchScript archive keeps every entry in one root folder, named by its first "
            f"entry; found {(outside or [first or 'no entry'])[0]!r}",
        )
    return root


class TorchScriptHandler:
    name = "torchscript"
    title = "TorchScript archive"
    suffixes = (".pt", ".pth", ".jit", ".torchscript", ".ptl")
    version = "2"  # 2: read as torch reads it; code and bytecode judged by the allowlist
    preload = ("torch",)  # the sandbox imports it once: torch's own reader is the cross-check

    def __init__(self, limits: ArchiveLimits | None = None) -> None:
        self.limits = limits or ArchiveLimits()

    def configure(self, limits: SandboxLimits) -> None:
        """Nothing of the registry's limits changes how an archive is read: its own bounds
        (ArchiveLimits) hold within what the sandbox allows."""

    def sniff(self, head: bytes) -> bool:
        return head.startswith(b"PK\x03\x04")

    def inspect_opened(self, source: Path, folder: Path) -> ModelInfo:
        """The archive `source` names; nothing beside it is read."""
        return self.inspect(source)

    def inspect(self, path: Path) -> ModelInfo:
        # Only reading the file's bytes is caught (here and in StrictZip's reads): any other
        # exception from the checks below is a bug, and must not pass for a damaged archive.
        try:
            size = path.stat().st_size
            handle = path.open("rb")
        except OSError as exc:
            raise unreadable(exc) from None
        with handle:
            archive = StrictZip(handle, size, self.limits.max_entries)
            root = root_folder(archive)
            zipfile_agrees(path, archive)
            torch_agrees(path, archive, root)
            return _Inspection(path, archive, root, self.limits).run()


class _Inspection:
    """One archive's checks, in the order that lets each rely on the previous."""

    def __init__(self, path: Path, archive: StrictZip, root: str, limits: ArchiveLimits) -> None:
        self.path = path
        self.archive = archive
        self.root = root
        self.limits = limits
        self.roles = {e.name: _role(e.name[len(root) + 1 :]) for e in archive.entries}

    def _entry(self, relative: str) -> Entry | None:
        return self.archive.find(f"{self.root}/{relative}")

    def _read(self, entry: Entry, limit: int) -> bytes:
        return self.archive.read(entry, limit)

    def run(self) -> ModelInfo:
        self._check_sizes()
        for entry in self.archive.entries:
            self.archive.verify(entry)
        data_entry = self._entry("data.pkl")
        if data_entry is None:
            raise FormatError("format.invalid", f"the archive has no {self.root}/data.pkl")
        code_entries = [e for e in self.archive.entries if self.roles[e.name] == "code"]
        if not code_entries:
            raise FormatError(
                "format.not-torchscript",
                "not a TorchScript archive: a torch.save checkpoint (zip without code/); "
                "export the model with torch.jit.script or torch.jit.trace and torch.jit.save",
            )
        version = self._version()
        pickles = {
            e.name: self._scan(e) for e in self.archive.entries if self.roles[e.name] == "pickle"
        }
        allow = allowlist()
        code = judge_code(self._code_files(code_entries), allow)
        for name, summary in pickles.items():
            self._check_classes(name, summary, code)
        bytecode = self._entry("bytecode.pkl")
        if bytecode is not None:
            value = pickles[bytecode.name].value
            judge_bytecode(value, bytecode.name, code, allow)
            check_compiled(self.path, value, bytecode.name)
        data = pickles[data_entry.name]
        root_class = next((g for g in data.globals if g.module.startswith("__torch__")), None)
        if root_class is None:
            raise FormatError("format.invalid", "data.pkl names no __torch__ module class")
        inputs, outputs = forward_signature(code, root_class)
        quantized = any(s.type_name.split(".")[-1].startswith("Q") for s in data.storages)
        return ModelInfo(
            format=TorchScriptHandler.name,
            format_version=f"archive {version}",
            producer="torch.jit",
            inputs=tuple(inputs),
            outputs=tuple(outputs),
            operators=tuple(sorted(code.operators)),
            parameter_count=sum(s.numel for s in data.storages),
            quantization="int8" if quantized else None,
            unstated=("output_names",),
        )

    def _check_sizes(self) -> None:
        entries = self.archive.entries
        total = sum(e.size for e in entries)
        if total > self.limits.max_total_size:
            raise FormatError(
                "format.resource-limit",
                f"the zip declares {total} uncompressed bytes, over the limit "
                f"{self.limits.max_total_size}",
            )
        for entry in entries:
            if entry.compressed_size and entry.size / entry.compressed_size > self.limits.max_ratio:
                raise FormatError(
                    "format.resource-limit",
                    f"entry {entry.name} expands {entry.size / entry.compressed_size:.0f}x, over "
                    f"the limit {self.limits.max_ratio:.0f}x (a zip bomb?)",
                )
        code_size = sum(e.size for e in entries if self.roles[e.name] == "code")
        if code_size > self.limits.max_code_size:
            raise FormatError(
                "format.resource-limit",
                f"code/ holds {code_size} bytes, over the limit {self.limits.max_code_size}",
            )

    def _version(self) -> str:
        # torch reads .data/version when there is one, else version.
        for relative in (".data/version", "version"):
            entry = self._entry(relative)
            if entry is not None:
                text = self._read(entry, 64).decode("ascii", errors="replace")
                if not re.fullmatch(r"[0-9]{1,3}\n?", text):
                    raise FormatError("format.invalid", f"{entry.name} is not a version number")
                return text.strip()
        raise FormatError("format.invalid", f"the archive has no {self.root}/version")

    def _scan(self, entry: Entry) -> PickleSummary:
        try:
            summary = scan_pickle(self._read(entry, self.limits.max_pickle_size))
        except PickleScanError as exc:
            raise FormatError(
                "format.invalid", f"{entry.name} cannot be read as a pickle: {exc}"
            ) from exc
        refused = sorted({g.qualified for g in summary.globals if not is_allowed_global(g)})
        if refused:
            raise FormatError(
                "security.pickle-global",
                f"{entry.name} imports {', '.join(refused)}, which TorchScript archives never "
                "need; refusing a file that would run arbitrary code when loaded",
            )
        return summary

    def _code_files(self, entries: list[Entry]) -> list[CodeFile]:
        files = []
        for entry in entries:
            module = module_of(entry.name[len(self.root) + 1 :])
            if module is None:
                raise FormatError("format.unsafe-archive", f"{entry.name} is not a code module")
            files.append(CodeFile(entry.name, module, self._read(entry, self.limits.max_code_size)))
        return files

    @staticmethod
    def _check_classes(name: str, summary: PickleSummary, code: CodeSummary) -> None:
        """The archive classes a pickle builds must be defined by the archive's own code."""
        for found in summary.globals:
            qualified = found.qualified
            if (
                found.module.startswith("__torch__")
                and not qualified.startswith("__torch__.torch.classes.")
                and qualified not in code.classes
            ):
                raise FormatError(
                    "security.pickle-global",
                    f"{name} builds {qualified}, which the archive's code does not define",
                )
