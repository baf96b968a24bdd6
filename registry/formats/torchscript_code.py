"""TorchScript code judged as torch will compile it, never by text patterns.

`torch.jit.load` compiles every `code/__torch__/**/*.py` entry with TorchScript's own front end:
`torch.X` and `torch.autograd.X` are the operator `aten::X`, `ops.NS.X` is `NS::X`, and an
attribute of any value that is not an object of the archive's own classes is also an operator
(`x.save(path)` is `aten::save(x, path)`). So the code is parsed (`ast`: TorchScript's serialized
code is Python syntax), every name, call and attribute is resolved the way torch resolves it, and
each is judged against an allowlist derived from real archives (torchscript_ops.py): what torch's
serializer writes, and the operators real models call. Anything else is refused, with the operator
or construct named. An `Allowlist` in recording mode collects instead of refusing: that is how
scripts/derive_torchscript_allowlist.py derives it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from registry.errors import FormatError

OP_CODE = "security.torchscript-op"
CODE_CODE = "security.torchscript-code"
# What torch's serializer writes: printable ASCII and newlines (non-ASCII strings go to
# constants.pkl). Tabs, carriage returns and form feeds are where two tokenizers could disagree.
_CODE_CHARACTERS = frozenset(range(0x20, 0x7F)) | {0x0A}
_MODULE_ROOTS = ("torch", "ops")
# Names the importer defines itself: never a local variable (one would hide them).
_RESERVED = frozenset({"torch", "ops", "CONSTANTS", "__torch__", "fork", "awaitable"})
_FLOAT_NAMES = frozenset({"inf", "nan"})  # how the serializer writes those floats
_TORCHBIND = "__torch__.torch.classes."
# Built-in calls that stand for an operator (what lite bytecode then lists).
BUILTIN_OPERATORS = {
    "int": "aten::Int",
    "float": "aten::Float",
    "bool": "aten::Bool",
    "str": "aten::str",
    "len": "aten::len",
    "print": "prim::Print",
    "sorted": "aten::sorted",
    "min": "prim::min",
    "max": "prim::max",
    "abs": "prim::abs",
    "unchecked_cast": "prim::unchecked_cast",
}
# Calls whose first (isinstance: second) argument is a type, not a value.
_TYPE_ARGUMENT = {"annotate": 0, "unchecked_cast": 0, "uninitialized": 0, "isinstance": 1}


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

    refusals: list[tuple[str, str]] = field(default_factory=list)  # (code, message)

    def require(self, kind: set[str], item: str, message: str, code: str = OP_CODE) -> None:
        """Allow `item` if `kind` holds it; else record a refusal (all are reported at once)."""
        if item in kind:
            return
        if self.recording:
            kind.add(item)
        elif (code, message) not in self.refusals:
            self.refusals.append((code, message))

    def raise_refusals(self) -> None:
        if self.refusals:
            shown = [message for _, message in self.refusals[:5]]
            more = len(self.refusals) - len(shown)
            raise FormatError(
                self.refusals[0][0], "; ".join(shown) + (f"; and {more} more" if more else "")
            )


@dataclass(frozen=True)
class CodeFile:
    entry: str  # the archive entry, for messages
    module: str  # its qualified name: code/__torch__/a/b.py holds module __torch__.a.b
    data: bytes


@dataclass
class _Class:
    name: str
    members: dict[str, ast.expr | None]  # fields (their annotation) and methods (None)


@dataclass(frozen=True)
class CodeSummary:
    operators: frozenset[str]  # every operator the code names, e.g. aten::conv2d
    implied: frozenset[str]  # operators the code implies by syntax and built-in calls
    classes: frozenset[str]  # qualified names of the archive's classes
    functions: frozenset[str]  # qualified functions and methods (lite bytecode names them)
    sources: Mapping[str, ast.Module]  # module name -> parsed code


def module_of(path_in_root: str) -> str | None:
    """`code/__torch__/a/b.py` -> `__torch__.a.b`; None for anything else."""
    if not (path_in_root.startswith("code/__torch__") and path_in_root.endswith(".py")):
        return None
    dotted = path_in_root[len("code/") : -len(".py")].split("/")
    if not all(part.isidentifier() for part in dotted):
        return None
    return ".".join(dotted)


def _chain(node: ast.expr) -> list[str] | None:
    """`a.b.c` as ["a", "b", "c"]; None when the chain does not start at a name."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return parts[::-1]


def module_operator(parts: list[str]) -> str | None:
    """The operator that `torch.X`, `torch.autograd.X` or `ops.NS.X` names, as torch's importer
    resolves it (torch is the `aten` namespace and `.autograd` turns any namespace into aten);
    None when the chain does not end at one operator."""
    if parts[0] == "torch":
        namespace, rest = "aten", parts[1:]
    elif parts[0] == "ops" and len(parts) >= 2:
        namespace, rest = parts[1], parts[2:]
    else:
        return None
    while rest and rest[0] == "autograd":
        namespace, rest = "aten", rest[1:]
    return f"{namespace}::{rest[0]}" if len(rest) == 1 else None


class CodeJudge:
    """Parses every code file and judges it; `summary` describes what the code uses."""

    def __init__(self, files: Iterable[CodeFile], allowlist: Allowlist) -> None:
        self.allow = allowlist
        self.trees: dict[str, ast.Module] = {}
        self.entries: dict[str, str] = {}
        for code in files:
            self.entries[code.module] = code.entry
            self.trees[code.module] = _parse(code)
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
                    elif isinstance(item, ast.Assign) and _annotation_key(item) is not None:
                        members[str(_annotation_key(item))] = item.value
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
            _Function(self, statement, None, entry).judge()
        elif _is_version_line(statement) or _is_torch_import(statement):
            pass  # `op_version_set = N` and `import __torch__…`: torch's importer skips them
        else:
            raise _construct(entry, statement, "at the top level of a code file")

    def _class(self, node: ast.ClassDef, qualified: str, entry: str) -> None:
        if node.decorator_list or node.keywords or len(node.bases) > 1:
            raise _construct(entry, node, "(decorators, keywords or several base classes)")
        base = ast.unparse(node.bases[0]) if node.bases else ""
        self.allow.require(
            self.allow.class_bases,
            base,
            f"{entry}: class {node.name} derives from {base}, which archives never use",
            CODE_CODE,
        )
        for item in node.body:
            if isinstance(item, ast.FunctionDef):
                _Function(self, item, qualified, entry).judge()
            elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                self.judge_type(item.annotation, entry)
                if item.value is not None:
                    _constant(item.value, entry)
            elif isinstance(item, ast.Assign) and _annotation_key(item) is not None:
                self.judge_type(item.value, entry)
            elif isinstance(item, ast.Assign) and _is_name_list(item):
                pass  # __parameters__ = ["weight", ...], __buffers__, __annotations__ = []
            else:
                raise _construct(entry, item, f"in the body of class {node.name}")

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
        parts = _chain(node)
        if parts is not None and parts[0] == "__torch__":
            self.judge_class_reference(parts, entry)
            return
        raise _construct(entry, node, "as a type")

    def judge_class_reference(self, parts: list[str], entry: str) -> str:
        """`__torch__.…` naming one of the archive's classes or a known TorchBind class."""
        qualified = ".".join(parts)
        if qualified.startswith(_TORCHBIND):
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


class _Function:
    """One function or method: its locals and the types they hold, then every statement."""

    def __init__(self, judge: CodeJudge, node: ast.FunctionDef, cls: str | None, entry: str):
        self.judge_of = judge
        self.node = node
        self.cls = cls
        self.entry = entry
        self.where = f"{entry}: {node.name}()"
        self.locals: dict[str, str | None] = {}
        self._bind_parameters()
        for statement in ast.walk(node):
            for target in _targets(statement):
                self._bind(target, _value_of(statement))

    def _bind_parameters(self) -> None:
        arguments = self.node.args
        if arguments.vararg or arguments.kwarg or arguments.posonlyargs or arguments.kwonlyargs:
            raise _construct(self.entry, self.node, "(*args, **kwargs or keyword-only arguments)")
        for index, argument in enumerate(arguments.args):
            declared = self._class_of_type(argument.annotation)
            if index == 0 and self.cls is not None and argument.annotation is None:
                declared = self.cls
            self.locals[argument.arg] = declared

    def _bind(self, target: ast.expr, value: ast.expr | None) -> None:
        if isinstance(target, ast.Name) and (target.id in _RESERVED or target.id in _FLOAT_NAMES):
            raise FormatError(OP_CODE, f"{self.where} binds {target.id}, which torch reserves")
        if isinstance(target, ast.Name):
            inferred = self.type_of(value) if value is not None else None
            if target.id in self.locals and self.locals[target.id] != inferred:
                inferred = None  # bound twice to different things: unknown
            self.locals[target.id] = inferred
        elif isinstance(target, ast.Tuple):
            for element in target.elts:
                self._bind(element, None)

    # -- inference of the archive class a value holds -----------------------------------------
    def _class_of_type(self, annotation: ast.expr | None) -> str | None:
        if annotation is None:
            return None
        parts = _chain(annotation)
        if parts is None or parts[0] != "__torch__":
            return None
        qualified = ".".join(parts)
        return qualified if qualified in self.judge_of.classes or _is_torchbind(qualified) else None

    def type_of(self, node: ast.expr | None) -> str | None:
        """The archive (or TorchBind) class of an expression's value, when it is plain to see."""
        if isinstance(node, ast.Name):
            return self.locals.get(node.id)
        if isinstance(node, ast.Attribute):
            owner = self.judge_of.classes.get(self.type_of(node.value) or "")
            if owner is not None:
                return self._class_of_type(owner.members.get(node.attr))
            return None
        if isinstance(node, ast.Call):
            parts = _chain(node.func)
            if parts is not None and parts[0] == "__torch__" and parts[-1] == "__new__":
                return self._class_of_type(node.func.value)  # type: ignore[attr-defined]
            if isinstance(node.func, ast.Name) and node.args:
                if node.func.id in ("annotate", "unchecked_cast"):
                    return self._class_of_type(node.args[0])
                if node.func.id == "getattr" and len(node.args) >= 2:
                    name = node.args[1]
                    if isinstance(name, ast.Constant) and isinstance(name.value, str):
                        return self.type_of(ast.Attribute(node.args[0], name.value, ast.Load()))
        return None

    # -- statements -------------------------------------------------------------------------
    def judge(self) -> None:
        if self.node.decorator_list:
            raise _construct(self.entry, self.node, "(decorators)")
        for argument in self.node.args.args:
            if argument.annotation is not None:
                self.judge_of.judge_type(argument.annotation, self.entry)
        for default in self.node.args.defaults:
            _constant(default, self.entry)
        if self.node.returns is not None:
            self.judge_of.judge_type(self.node.returns, self.entry)
        self._block(self.node.body)

    def _block(self, statements: list[ast.stmt]) -> None:
        for statement in statements:
            self._statement(statement)

    def _statement(self, node: ast.stmt) -> None:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                self._target(target)
            self.expression(node.value)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            self.judge_of.judge_type(node.annotation, self.entry)
            if node.value is not None:
                self.expression(node.value)
        elif isinstance(node, ast.Expr | ast.Return):
            if node.value is not None:
                self.expression(node.value)
        elif isinstance(node, ast.If | ast.While):
            self.expression(node.test)
            if isinstance(node, ast.While) and node.orelse:
                raise _construct(self.entry, node, "(while ... else)")
            self._block(node.body)
            self._block(node.orelse)
        elif isinstance(node, ast.For) and not node.orelse:
            self._target(node.target)
            self.expression(node.iter)
            self._block(node.body)
        elif isinstance(node, ast.With):
            for item in node.items:
                self.expression(item.context_expr)
                if item.optional_vars is not None:
                    self._target(item.optional_vars)
            self._block(node.body)
        elif isinstance(node, ast.Pass):
            pass
        else:
            raise _construct(self.entry, node, f"in {self.node.name}()")

    def _target(self, node: ast.expr) -> None:
        if isinstance(node, ast.Name):
            return
        if isinstance(node, ast.Tuple):
            self.judge_of.implied.add("prim::TupleUnpack")
            for element in node.elts:
                self._target(element)
            return
        if isinstance(node, ast.Attribute):  # self.x = ...: a declared attribute of a class
            self.expression(node.value)
            owner = self.judge_of.classes.get(self.type_of(node.value) or "")
            if owner is not None and node.attr in owner.members:
                return
            raise FormatError(
                OP_CODE,
                f"{self.where} sets attribute {node.attr} of a value that is not an object of "
                "the archive's classes",
            )
        raise _construct(self.entry, node, "as an assignment target")

    # -- expressions ------------------------------------------------------------------------
    def expression(self, node: ast.expr) -> None:
        if isinstance(node, ast.Constant):
            _constant(node, self.entry)
        elif isinstance(node, ast.Name):
            self._name(node.id)
        elif isinstance(node, ast.Attribute):
            self._attribute(node)
        elif isinstance(node, ast.Call):
            self._call(node)
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            self.judge_of.implied.add("aten::__getitem__")
            self.expression(node.value)
            self.expression(node.slice)
        elif isinstance(node, ast.List | ast.Tuple):
            for element in node.elts:
                self.expression(element)
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if key is None:
                    raise _construct(self.entry, node, "(** in a dict)")
                self.expression(key)
                self.expression(value)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            self.expression(node.operand)
        else:
            raise _construct(self.entry, node, f"in {self.node.name}()")

    def _name(self, name: str) -> None:
        """A name used as a value: a local, never a module or an unknown global."""
        if name in self.locals or name in _FLOAT_NAMES:
            return
        if name in _MODULE_ROOTS or name in ("CONSTANTS", "__torch__"):
            raise FormatError(OP_CODE, f"{self.where} uses the module {name} as a value")
        raise FormatError(OP_CODE, f"{self.where} uses {name}, which is not defined")

    def _attribute(self, node: ast.Attribute) -> None:
        parts = _chain(node)
        if parts is not None and parts[0] not in self.locals:
            if parts[0] in _MODULE_ROOTS:
                self._operator(parts)
                return
            if parts[0] == "CONSTANTS":
                if not _is_constants_entry(parts):
                    raise FormatError(OP_CODE, f"{self.where} reads {'.'.join(parts)}")
                return
            if parts[0] == "__torch__":
                self._archive_reference(parts)
                return
        self.expression(node.value)
        self._member(node.value, node.attr)

    def _operator(self, parts: list[str]) -> None:
        operator = module_operator(parts)
        if operator is None:
            raise FormatError(
                OP_CODE, f"{self.where} uses {'.'.join(parts)}, which is not one operator"
            )
        self.judge_of.operators.add(operator)
        self.judge_of.allow.require(
            self.judge_of.allow.operators,
            operator,
            f"{self.where} calls {operator} ({'.'.join(parts)}), an operator real models never "
            "use: it could read or write files, reach the network or corrupt memory",
        )

    def _archive_reference(self, parts: list[str]) -> None:
        found = self.judge_of.archive_class(parts)
        if found is None:
            self.judge_of.judge_class_reference(parts, self.entry)
            return
        qualified, rest = found
        owner = self.judge_of.classes.get(qualified)
        if not rest or (owner is not None and rest in (["__new__"], *([m] for m in owner.members))):
            return
        raise FormatError(OP_CODE, f"{self.where} uses {'.'.join(parts)}")

    def _member(self, receiver: ast.expr, name: str) -> None:
        """`value.name`: a member of the archive class the value holds, else an operator."""
        kind = self.type_of(receiver)
        owner = self.judge_of.classes.get(kind or "")
        if owner is not None and name in owner.members:
            return
        if kind is not None and _is_torchbind(kind):
            self.judge_of.allow.require(
                self.judge_of.allow.torchbind_methods,
                name,
                f"{self.where} calls {name} of the C++ class {kind}",
            )
            return
        operator = f"aten::{name}"  # on a tensor, a list, a string...: the operator of that name
        self.judge_of.operators.add(operator)
        self.judge_of.allow.require(
            self.judge_of.allow.operators,
            operator,
            f"{self.where} uses .{name} of a value that is not an object of the archive's "
            f"classes, which torch resolves to {operator}, an operator real models never use",
        )

    def _call(self, node: ast.Call) -> None:
        function = node.func
        type_argument = None
        if isinstance(function, ast.Name) and function.id not in self.locals:
            name = function.id
            self.judge_of.allow.require(
                self.judge_of.allow.builtins,
                name,
                f"{self.where} calls {name}(), which is not a TorchScript built-in real models use",
            )
            if name in BUILTIN_OPERATORS:
                self.judge_of.implied.add(BUILTIN_OPERATORS[name])
            type_argument = _TYPE_ARGUMENT.get(name)
            if name in ("getattr", "hasattr"):
                self._getattr(node)
                return
        elif isinstance(function, ast.Name | ast.Attribute):
            self.expression(function)
        else:
            raise _construct(self.entry, node, "(a call of a computed value)")
        for index, argument in enumerate(node.args):
            if index == type_argument:
                self.judge_of.judge_type(argument, self.entry)
            elif isinstance(argument, ast.Starred):
                raise _construct(self.entry, argument, "(*arguments)")
            else:
                self.expression(argument)
        for keyword in node.keywords:
            if keyword.arg is None:
                raise _construct(self.entry, node, "(**arguments)")
            self.expression(keyword.value)

    def _getattr(self, node: ast.Call) -> None:
        """getattr(x, "name") is x.name: judged the same way (the name must be a literal)."""
        if len(node.args) not in (2, 3) or node.keywords:
            raise _construct(self.entry, node, "(getattr with other arguments)")
        name = node.args[1]
        if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
            raise FormatError(OP_CODE, f"{self.where} calls getattr with a computed name")
        self.expression(ast.Attribute(node.args[0], name.value, ast.Load()))
        for default in node.args[2:]:
            self.expression(default)


def _parse(code: CodeFile) -> ast.Module:
    unexpected = next((b for b in code.data if b not in _CODE_CHARACTERS), None)
    if unexpected is not None:
        raise FormatError(
            CODE_CODE,
            f"{code.entry} holds the byte 0x{unexpected:02x}, which torch's serializer never "
            "writes in code (only printable ASCII and newlines)",
        )
    try:
        return ast.parse(code.data.decode("ascii"), filename=code.entry)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise FormatError(
            CODE_CODE, f"{code.entry} cannot be parsed as TorchScript code ({exc})"
        ) from None


def _construct(entry: str, node: ast.AST, where: str) -> FormatError:
    line = getattr(node, "lineno", None)
    place = f"{entry}:{line}" if line else entry
    return FormatError(
        CODE_CODE,
        f"{place}: {type(node).__name__} {where}, which torch's serializer never writes",
    )


def _constant(node: ast.expr, entry: str) -> None:
    """A literal: None, bool, int, float, str, a tuple / list of them (defaults, Final), or a
    value of constants.pkl (`CONSTANTS.c0`)."""
    if isinstance(node, ast.Constant) and (
        node.value is None or isinstance(node.value, bool | int | float | str)
    ):
        return
    if _is_constants_entry(_chain(node)) or (
        isinstance(node, ast.Name) and node.id in _FLOAT_NAMES
    ):
        return
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        _constant(node.operand, entry)
        return
    if isinstance(node, ast.Tuple | ast.List):
        for element in node.elts:
            _constant(element, entry)
        return
    raise _construct(entry, node, "as a literal")


def _is_constants_entry(parts: list[str] | None) -> bool:
    """`CONSTANTS.c<n>`: a value of the archive's constants.pkl."""
    return (
        parts is not None
        and len(parts) == 2
        and parts[0] == "CONSTANTS"
        and parts[1][:1] == "c"
        and parts[1][1:].isdigit()
    )


def _annotation_key(node: ast.Assign) -> str | None:
    """`__annotations__["0"] = T` (submodules of a ModuleList): the member name."""
    target = node.targets[0] if len(node.targets) == 1 else None
    if (
        isinstance(target, ast.Subscript)
        and isinstance(target.value, ast.Name)
        and target.value.id == "__annotations__"
        and isinstance(target.slice, ast.Constant)
        and isinstance(target.slice.value, str)
    ):
        return target.slice.value
    return None


def _is_name_list(node: ast.Assign) -> bool:
    target = node.targets[0] if len(node.targets) == 1 else None
    return (
        isinstance(target, ast.Name)
        and target.id in ("__parameters__", "__buffers__", "__annotations__")
        and isinstance(node.value, ast.List)
        and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.value.elts)
    )


def _is_version_line(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
        and node.targets[0].id == "op_version_set"
        and isinstance(node.value, ast.Constant)
        and type(node.value.value) is int
    )


def _is_torch_import(node: ast.stmt) -> bool:
    return isinstance(node, ast.Import) and all(
        alias.asname is None and alias.name.split(".")[0] == "__torch__" for alias in node.names
    )


def _is_torchbind(qualified: str) -> bool:
    return qualified.startswith(_TORCHBIND)


def _methods(info: _Class) -> Iterator[str]:
    return (name for name, annotation in info.members.items() if annotation is None)


def _targets(node: ast.AST) -> Iterator[ast.expr]:
    """The names a statement binds (for the function's locals)."""
    if isinstance(node, ast.Assign):
        yield from node.targets
    elif isinstance(node, ast.AnnAssign | ast.For):
        yield node.target
    elif isinstance(node, ast.With):
        yield from (i.optional_vars for i in node.items if i.optional_vars is not None)


def _value_of(node: ast.AST) -> ast.expr | None:
    if isinstance(node, ast.Assign | ast.AnnAssign) and len(list(_targets(node))) == 1:
        return node.value
    return None


def judge_code(files: Iterable[CodeFile], allowlist: Allowlist) -> CodeSummary:
    summary = CodeJudge(files, allowlist).summary()
    allowlist.raise_refusals()
    return summary
