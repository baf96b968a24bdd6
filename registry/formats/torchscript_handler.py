"""TorchScript, statically: the zip archive, its pickles opcode by opcode, and `forward` from code/.

torch.jit.load executes code from the archive, so this handler never calls it: everything here is
read from the zip's bytes.
"""

from __future__ import annotations

import ast
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from registry.errors import FormatError
from registry.formats.base import ModelInfo
from registry.formats.pickle_scan import Global, PickleScanError, PickleSummary, scan_pickle
from registry.formats.torchscript_allowlist import is_allowed_global
from registry.tensors import UNSTATED_DTYPE, TensorSpec


@dataclass(frozen=True)
class ArchiveLimits:
    max_entries: int = 10_000  # real archives hold one entry per tensor: hundreds
    max_total_size: int = 64 << 30
    max_ratio: float = 200.0
    max_pickle_size: int = 256 << 20
    max_code_size: int = 64 << 20


# What reading a damaged zip can raise: each becomes format.invalid, never a traceback.
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    OSError,
    EOFError,
    ValueError,
    KeyError,
    NotImplementedError,
    RuntimeError,
    UnicodeDecodeError,
    zlib.error,
    struct.error,
)


_SCALAR_TYPES = {"int": "int64", "float": "float64", "bool": "bool", "str": "string"}
_OPS = re.compile(r"\b(?:ops\.[a-z_0-9]+|torch)\.[A-Za-z_][A-Za-z_0-9]*(?=\()")
# TorchScript builtins that touch files; in code they would run at load time (in __setstate__).
_FILE_CALLS = re.compile(r"\b(torch\.(?:save|load|from_file)|ops\.aten\.(?:save|from_file))\s*\(")
# Longest forward() signature read; real ones are a few hundred characters.
MAX_SIGNATURE = 16_384


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


def _forward_header(body: str, class_name: str) -> tuple[str, str]:
    """Parameters and return annotation of `def forward(...) -> ...:`, found in linear time."""
    start = body.find("def forward(")
    if start < 0:
        raise FormatError("format.invalid", f"class {class_name} in the archive has no forward()")
    open_at = start + len("def forward(")
    depth = 1
    for index in range(open_at, min(len(body), open_at + MAX_SIGNATURE)):
        depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(body[index], 0)
        if depth == 0:
            end = body.find(":", index, index + MAX_SIGNATURE)
            arrow = body[index + 1 : end if end >= 0 else index + 1].strip()
            return body[open_at:index], arrow.removeprefix("->").strip() or "Tensor"
    raise FormatError("format.invalid", f"{class_name}.forward() has an unreadable signature")


def parse_forward(source: str, class_name: str) -> tuple[list[TensorSpec], list[TensorSpec]]:
    """Inputs and outputs of `class_name.forward` read from TorchScript code, without running it."""
    start = re.search(rf"^class {re.escape(class_name)}\(", source, re.MULTILINE)
    if start is None:
        raise FormatError("format.invalid", f"the archive's code has no class {class_name}")
    body = source[start.end() :]
    following = re.search(r"^class ", body, re.MULTILINE)
    body = body[: following.start()] if following else body
    params, returns = _forward_header(body, class_name)
    try:
        tree = ast.parse(f"def forward({params}) -> {returns}:\n  pass\n")
    except (SyntaxError, ValueError, RecursionError) as exc:
        raise FormatError("format.invalid", f"cannot read the forward() signature: {exc}") from exc
    function = tree.body[0]
    assert isinstance(function, ast.FunctionDef)
    arguments = function.args.args[1:]  # after self
    inputs = [_spec(a.arg, _annotation(a.annotation)) for a in arguments]
    returned = function.returns
    if isinstance(returned, ast.Subscript) and _annotation(returned).startswith("tuple<"):
        elements = (
            returned.slice.elts if isinstance(returned.slice, ast.Tuple) else [returned.slice]
        )
        outputs = [_spec(f"output_{i}", _annotation(e)) for i, e in enumerate(elements)]
    else:
        outputs = [_spec("output_0", _annotation(returned))]
    return inputs, outputs


def _refuse_file_access(archive: zipfile.ZipFile, code: list[str]) -> None:
    """Code that reads or writes files runs at load time in __setstate__: refuse the archive."""
    for name in code:
        text = archive.read(name).decode("utf-8", errors="replace")
        match = _FILE_CALLS.search(text)
        if match is None:
            continue
        before = text[: match.start()]
        function = re.findall(r"\bdef (\w+)\(", before)
        where = f" in {function[-1]}()" if function else ""
        raise FormatError(
            "security.torchscript-io",
            f"{name} calls {match.group(1)}{where}: TorchScript code that reads or writes files "
            "would run when the archive is loaded; a model never needs it",
        )


def _check_names(infos: list[zipfile.ZipInfo]) -> str:
    """Entry names must be plain relative paths under one root folder; returns that root."""
    seen: set[str] = set()
    roots: set[str] = set()
    for entry in infos:
        name = entry.filename
        if "\\" in name or "\x00" in name:
            raise FormatError(
                "format.unsafe-archive", f"entry name {name!r} has a backslash or NUL"
            )
        if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
            raise FormatError("format.unsafe-archive", f"entry name {name!r} is an absolute path")
        if ".." in name.split("/"):
            raise FormatError("format.unsafe-archive", f"entry name {name!r} contains `..`")
        if name in seen:
            raise FormatError("format.unsafe-archive", f"entry {name!r} appears twice")
        seen.add(name)
        roots.add(name.split("/", 1)[0] if "/" in name else "")
    if len(roots) != 1 or "" in roots:
        raise FormatError(
            "format.invalid",
            f"a TorchScript archive has exactly one root folder; found {sorted(roots)[:5]}",
        )
    return roots.pop()


def _check_sizes(infos: list[zipfile.ZipInfo], limits: ArchiveLimits) -> None:
    if len(infos) > limits.max_entries:
        raise FormatError(
            "format.resource-limit",
            f"{len(infos)} zip entries, over the limit {limits.max_entries}",
        )
    total = sum(entry.file_size for entry in infos)
    if total > limits.max_total_size:
        raise FormatError(
            "format.resource-limit",
            f"the zip declares {total} uncompressed bytes, over the limit {limits.max_total_size}",
        )
    for entry in infos:
        if entry.flag_bits & 0x1:
            raise FormatError("format.unsafe-archive", f"entry {entry.filename} is encrypted")
        if entry.compress_size and entry.file_size / entry.compress_size > limits.max_ratio:
            raise FormatError(
                "format.resource-limit",
                f"entry {entry.filename} expands {entry.file_size / entry.compress_size:.0f}x, "
                f"over the limit {limits.max_ratio:.0f}x (a zip bomb?)",
            )


class TorchScriptHandler:
    name = "torchscript"
    title = "TorchScript archive"
    suffixes = (".pt", ".pth", ".jit", ".torchscript", ".ptl")
    version = "1"

    def __init__(self, limits: ArchiveLimits | None = None) -> None:
        self.limits = limits or ArchiveLimits()

    def sniff(self, head: bytes) -> bool:
        return head.startswith(b"PK\x03\x04")

    def _read(self, archive: zipfile.ZipFile, name: str) -> bytes:
        with archive.open(name) as handle:
            data = handle.read(self.limits.max_pickle_size + 1)
        if len(data) > self.limits.max_pickle_size:
            raise FormatError("format.resource-limit", f"{name} is larger than its limit")
        return data

    def _scan(self, archive: zipfile.ZipFile, name: str) -> PickleSummary:
        try:
            summary = scan_pickle(self._read(archive, name))
        except PickleScanError as exc:
            raise FormatError(
                "format.invalid", f"{name} cannot be read as a pickle: {exc}"
            ) from exc
        refused = sorted({g.qualified for g in summary.globals if not is_allowed_global(g)})
        if refused:
            raise FormatError(
                "security.pickle-global",
                f"{name} imports {', '.join(refused)}, which TorchScript archives never need; "
                "refusing a file that would run arbitrary code when loaded",
            )
        return summary

    def inspect(self, path: Path) -> ModelInfo:
        try:
            with zipfile.ZipFile(path) as archive:
                return self._inspect(archive)
        except _ZIP_ERRORS as exc:
            raise FormatError(
                "format.invalid", f"not a readable zip archive ({type(exc).__name__}: {exc})"
            ) from exc

    def _inspect(self, archive: zipfile.ZipFile) -> ModelInfo:
        infos = archive.infolist()
        _check_sizes(infos, self.limits)
        root = _check_names(infos)
        names = {entry.filename for entry in infos}
        code = sorted(n for n in names if n.startswith(f"{root}/code/") and n.endswith(".py"))
        if f"{root}/data.pkl" not in names:
            raise FormatError("format.invalid", f"the archive has no {root}/data.pkl")
        if not code:
            raise FormatError(
                "format.not-torchscript",
                "not a TorchScript archive: a torch.save checkpoint (zip without code/); "
                "export the model with torch.jit.script or torch.jit.trace and torch.jit.save",
            )
        code_size = sum(archive.getinfo(n).file_size for n in code)
        if code_size > self.limits.max_code_size:
            raise FormatError(
                "format.resource-limit",
                f"code/ holds {code_size} bytes, over the limit {self.limits.max_code_size}",
            )
        data = self._scan(archive, f"{root}/data.pkl")
        # Every pickle torch may unpickle, debug info included, is checked the same way.
        for extra in sorted(n for n in names if n.endswith((".pkl", ".debug_pkl"))):
            if extra != f"{root}/data.pkl":
                self._scan(archive, extra)
        version = self._archive_version(archive, root, names)
        root_class = self._root_class(data)
        module_file = self._code_file(root, root_class)
        if module_file not in names:
            raise FormatError("format.invalid", f"the archive has no {module_file}")
        source = self._read(archive, module_file).decode("utf-8", errors="replace")
        all_code = "\n".join(self._read(archive, n).decode("utf-8", errors="replace") for n in code)
        _refuse_file_access(archive, code)
        inputs, outputs = parse_forward(source, root_class.name)
        operators = sorted(set(_OPS.findall(all_code)))
        custom = [
            op
            for op in operators
            if op.startswith("ops.") and op.split(".")[1] not in ("prim", "aten", "quantized")
        ]
        quantized = any(s.type_name.split(".")[-1].startswith("Q") for s in data.storages)
        return ModelInfo(
            format=self.name,
            format_version=f"archive {version}",
            producer="torch.jit",
            inputs=tuple(inputs),
            outputs=tuple(outputs),
            operators=tuple(operators),
            parameter_count=sum(s.numel for s in data.storages),
            quantization="int8" if quantized else None,
            custom_ops=tuple(custom),
            unstated=("output_names",),
        )

    def _archive_version(self, archive: zipfile.ZipFile, root: str, names: set[str]) -> str:
        for candidate in (f"{root}/.data/version", f"{root}/version"):
            if candidate in names:
                text = self._read(archive, candidate).decode("ascii", errors="replace").strip()
                if not text.isdigit():
                    raise FormatError("format.invalid", f"{candidate} is not a version number")
                return text
        raise FormatError("format.invalid", f"the archive has no {root}/version")

    @staticmethod
    def _root_class(data: PickleSummary) -> Global:
        for found in data.globals:
            if found.module.startswith("__torch__"):
                return found
        raise FormatError("format.invalid", "data.pkl names no __torch__ module class")

    @staticmethod
    def _code_file(root: str, cls: Global) -> str:
        parts = cls.module.split(".")
        if len(parts) == 1:
            return f"{root}/code/__torch__.py"
        return f"{root}/code/{'/'.join(parts)}.py"
