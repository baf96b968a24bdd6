"""TorchScript code judged as torch will compile it, never by text patterns.

`torch.jit.load` compiles every `code/__torch__/**/*.py` entry with TorchScript's own front end:
`torch.X` and `torch.autograd.X` are the operator `aten::X`, `ops.NS.X` is `NS::X`, and an
attribute of any value that is not an object of the archive's own classes is also an operator
(`x.save(path)` is `aten::save(x, path)`). So the code is parsed (`ast`: TorchScript's serialized
code is Python syntax), every name, call and attribute is resolved the way torch resolves it, and
each is judged against an allowlist derived from real archives (torchscript_ops.json): what torch's
serializer writes, and the operators real models call. Anything else is refused, with the operator
or construct named. An `Allowlist` in recording mode collects instead of refusing: that is how
scripts/derive_torchscript_allowlist.py derives it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from registry.errors import FormatError
from registry.formats.torchscript_function import FunctionJudge
from registry.formats.torchscript_syntax import (
    CODE_CODE,
    OP_CODE,
    TORCHBIND,
    annotation_key,
    chain,
    construct,
    is_name_list,
    is_version_line,
    literal,
    module_of,
    module_operator,
    parse_code,
)

__all__ = [
    "CODE_CODE",
    "OP_CODE",
    "Allowlist",
    "CodeFile",
    "CodeSummary",
    "judge_code",
    "module_of",
    "module_operator",
]


MAX_REFUSALS = 100


@dataclass
class Allowlist:
    """What code may use. With `recording`, whatever is found is added instead of refused."""

    operators: set[str] = field(default_factory=set)  # "aten::conv2d", "prim::device", ...
    builtins: set[str] = field(default_factory=set)  # bare calls: range, annotate, int, ...
    types: set[str] = field(default_factory=set)  # annotation names: Tensor, Optional, ...
    class_bases: set[str] = field(default_factory=set)  # Module, NamedTuple, "" (none)
    torchbind: set[str] = field(default_factory=set)  # __torch__.torch.classes.* used
    torchbind_methods: set[str] = field(default_factory=set)
    instructions: set[str] = field(default_factory=set)  # lite bytecode: OP, LOADC, JF, ...
    bytecode_versions: set[str] = field(default_factory=set)
    recording: bool = False

    # (code, message) of each refusal, in order (a dict: the same one twice is kept once).
    refusals: dict[tuple[str, str], None] = field(default_factory=dict)

    def require(self, kind: set[str], item: str, message: str, code: str = OP_CODE) -> None:
        """Allow `item` if `kind` holds it; else record a refusal (all are reported at once)."""
        if item in kind:
            return
        if self.recording:
            kind.add(item)
        else:
            self.refuse(code, message)

    def refuse(self, code: str, message: str) -> None:
        self.refusals[(code, message)] = None
        if len(self.refusals) >= MAX_REFUSALS:
            self.raise_refusals()  # enough to say why: a hostile file stops costing here

    def raise_refusals(self) -> None:
        if self.refusals:
            refused = list(self.refusals)
            shown = [message for _, message in refused[:5]]
            more = len(refused) - len(shown)
            raise FormatError(
                refused[0][0], "; ".join(shown) + (f"; and {more} more" if more else "")
            )


@dataclass(frozen=True, slots=True)
class CodeFile:
    entry: str  # the archive entry, for messages
    module: str  # its qualified name: code/__torch__/a/b.py holds module __torch__.a.b
    data: bytes


@dataclass
class _Class:
    name: str
    members: dict[str, ast.expr | None]  # fields (their annotation) and methods (None)


@dataclass(frozen=True, slots=True)
class CodeSummary:
    operators: frozenset[str]  # every operator the code names, e.g. aten::conv2d
    implied: frozenset[str]  # operators the code implies by syntax and built-in calls
    classes: frozenset[str]  # qualified names of the archive's classes
    functions: frozenset[str]  # qualified functions and methods (lite bytecode names them)
    sources: Mapping[str, ast.Module]  # module name -> parsed code


class CodeJudge:
    """Parses every code file and judges it; `summary` describes what the code uses."""

    def __init__(self, files: Iterable[CodeFile], allowlist: Allowlist) -> None:
        self.allow = allowlist
        self.trees: dict[str, ast.Module] = {}
        self.entries: dict[str, str] = {}
        for code in files:
            if f"{code.module}.".startswith(TORCHBIND):
                # torch's serializer writes these empty (quantized lite archives have them);
                # torch resolves such names to its C++ classes and never reads the file.
                if code.data.strip():
                    raise FormatError(
                        CODE_CODE,
                        f"{code.entry}: torch resolves names under __torch__.torch.classes to "
                        "its own C++ classes and never reads this file, which torch writes "
                        "empty: its content could only mislead a reader",
                    )
                continue
            self.entries[code.module] = code.entry
            self.trees[code.module] = parse_code(code.entry, code.data)
        self.classes: dict[str, _Class] = {}
        self.functions: set[str] = set()
        for module, tree in self.trees.items():
            self._collect(module, tree)
        self.operators: set[str] = set()
        self.implied: set[str] = set()

    def summary(self) -> CodeSummary:
        for module, tree in self.trees.items():
            entry = self.entries[module]
            try:
                for statement in tree.body:
                    self._top_level(statement, module, entry)
            except RecursionError:
                raise FormatError(CODE_CODE, f"{entry} nests expressions too deeply") from None
        methods = {f"{c}.{m}" for c, info in self.classes.items() for m in _methods(info)}
        return CodeSummary(
            frozenset(self.operators),
            frozenset(self.implied),
            frozenset(self.classes),
            frozenset(self.functions | methods),
            self.trees,
        )

    # -- definitions ------------------------------------------------------------------------
    def _collect(self, module: str, tree: ast.Module) -> None:
        for statement in tree.body:
            if isinstance(statement, ast.ClassDef):
                members: dict[str, ast.expr | None] = {}
                for item in statement.body:
                    if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                        members[item.target.id] = item.annotation
                    elif isinstance(item, ast.FunctionDef):
                        members[item.name] = None
                    elif isinstance(item, ast.Assign) and annotation_key(item) is not None:
                        members[str(annotation_key(item))] = item.value
                name = f"{module}.{statement.name}"
                self.classes[name] = _Class(name, members)
            elif isinstance(statement, ast.FunctionDef):
                self.functions.add(f"{module}.{statement.name}")

    def archive_class(self, parts: list[str]) -> tuple[str, list[str]] | None:
        """The archive class or function a `__torch__.…` chain starts with, and the rest."""
        for end in range(len(parts), 0, -1):
            qualified = ".".join(parts[:end])
            if qualified in self.classes or qualified in self.functions:
                return qualified, parts[end:]
        return None

    # -- statements -------------------------------------------------------------------------
    def _top_level(self, statement: ast.stmt, module: str, entry: str) -> None:
        if isinstance(statement, ast.ClassDef):
            self._class(statement, f"{module}.{statement.name}", entry)
        elif isinstance(statement, ast.FunctionDef):
            FunctionJudge(self, statement, None, entry).judge()
        elif is_version_line(statement):
            pass  # `op_version_set = N`: torch's importer reads it as the file's version
        else:
            raise construct(entry, statement, "at the top level of a code file")

    def _class(self, node: ast.ClassDef, qualified: str, entry: str) -> None:
        if node.decorator_list or node.keywords or len(node.bases) > 1:
            raise construct(entry, node, "(decorators, keywords or several base classes)")
        base = ast.unparse(node.bases[0]) if node.bases else ""
        self.allow.require(
            self.allow.class_bases,
            base,
            f"{entry}: class {node.name} derives from {base}, which archives never use",
            CODE_CODE,
        )
        for item in node.body:
            if isinstance(item, ast.FunctionDef):
                FunctionJudge(self, item, qualified, entry).judge()
            elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                self.judge_type(item.annotation, entry)
                if item.value is not None:
                    literal(item.value, entry)
            elif isinstance(item, ast.Assign) and annotation_key(item) is not None:
                self.judge_type(item.value, entry)
            elif isinstance(item, ast.Assign) and is_name_list(item):
                pass  # __parameters__ = ["weight", ...], __buffers__, __annotations__ = []
            else:
                raise construct(entry, item, f"in the body of class {node.name}")

    # -- types ------------------------------------------------------------------------------
    def judge_type(self, node: ast.expr, entry: str) -> None:
        """An annotation or a type argument: built-in type names, the archive's classes."""
        if isinstance(node, ast.Constant) and node.value is None:
            return
        if isinstance(node, ast.Name):
            self.allow.require(
                self.allow.types, node.id, f"{entry}: type {node.id} is not a TorchScript type"
            )
            return
        if isinstance(node, ast.Subscript):
            self.judge_type(node.value, entry)
            elements = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            for element in elements:
                self.judge_type(element, entry)
            return
        if isinstance(node, ast.Tuple):  # isinstance(x, (int, float))
            for element in node.elts:
                self.judge_type(element, entry)
            return
        parts = chain(node)
        if parts is not None and parts[0] == "__torch__":
            self.judge_class_reference(parts, entry)
            return
        raise construct(entry, node, "as a type")

    def judge_class_reference(self, parts: list[str], entry: str) -> str:
        """`__torch__.…` naming one of the archive's classes or a known TorchBind class."""
        qualified = ".".join(parts)
        if qualified.startswith(TORCHBIND):
            self.allow.require(
                self.allow.torchbind,
                qualified,
                f"{entry} uses the C++ class {qualified[len('__torch__.') :]}, which "
                "ordinary models never use",
            )
            return qualified
        if self.archive_class(parts) != (qualified, []):
            raise FormatError(OP_CODE, f"{entry} refers to {qualified}, which the archive lacks")
        return qualified


def _methods(info: _Class) -> Iterator[str]:
    return (name for name, annotation in info.members.items() if annotation is None)


def judge_code(files: Iterable[CodeFile], allowlist: Allowlist) -> CodeSummary:
    summary = CodeJudge(files, allowlist).summary()
    allowlist.raise_refusals()
    return summary
