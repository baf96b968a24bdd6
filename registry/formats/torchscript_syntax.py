"""TorchScript's serialized code as syntax: what its printer writes, how torch's importer resolves
module chains, and the small predicates the code judge (torchscript_code) is built from."""

from __future__ import annotations

import ast
import io
import tokenize
from collections.abc import Iterator

from registry.errors import FormatError

OP_CODE = "security.torchscript-op"
CODE_CODE = "security.torchscript-code"
# What torch's serializer writes: printable ASCII and newlines (non-ASCII strings go to
# constants.pkl). Tabs, carriage returns and form feeds are where two tokenizers could disagree.
CODE_CHARACTERS = frozenset(range(0x20, 0x7F)) | {0x0A}
MODULE_ROOTS = ("torch", "ops")
# Names the importer defines itself: never a local variable (one would hide them).
RESERVED = frozenset({"torch", "ops", "CONSTANTS", "__torch__", "fork", "awaitable"})
FLOAT_NAMES = frozenset({"inf", "nan"})  # how the serializer writes those floats
TORCHBIND = "__torch__.torch.classes."
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
TYPE_ARGUMENT = {"annotate": 0, "unchecked_cast": 0, "uninitialized": 0, "isinstance": 1}


def module_of(path_in_root: str) -> str | None:
    """`code/__torch__/a/b.py` -> `__torch__.a.b`; None for anything else."""
    if not (path_in_root.startswith("code/__torch__") and path_in_root.endswith(".py")):
        return None
    dotted = path_in_root[len("code/") : -len(".py")].split("/")
    if not all(part.isidentifier() for part in dotted):
        return None
    return ".".join(dotted)


def chain(node: ast.expr) -> list[str] | None:
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


def parse_code(entry: str, data: bytes) -> ast.Module:
    """The code's syntax tree, once it is sure that TorchScript's lexer and Python's read it
    alike: only what the serializer writes (printable ASCII, newlines), and no comment (torch's
    lexer keeps reading after `# type:`, Python's stops) and no line continuation."""
    unexpected = next((b for b in data if b not in CODE_CHARACTERS), None)
    if unexpected is not None:
        raise FormatError(
            CODE_CODE,
            f"{entry} holds the byte 0x{unexpected:02x}, which torch's serializer never "
            "writes in code (only printable ASCII and newlines)",
        )
    text = data.decode("ascii")
    if "\\\n" in text:
        raise FormatError(
            CODE_CODE, f"{entry} continues a line with `\\`, as the serializer never does"
        )
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                raise FormatError(
                    CODE_CODE,
                    f"{entry}:{token.start[0]} holds a comment; torch's serializer writes none, "
                    "and torch's lexer reads some (`# type:`) that Python's skips",
                )
        return ast.parse(text, filename=entry)
    except (SyntaxError, ValueError, RecursionError, MemoryError, tokenize.TokenError) as exc:
        raise FormatError(
            CODE_CODE, f"{entry} cannot be parsed as TorchScript code ({exc})"
        ) from None


def construct(entry: str, node: ast.AST, where: str) -> FormatError:
    line = getattr(node, "lineno", None)
    place = f"{entry}:{line}" if line else entry
    return FormatError(
        CODE_CODE,
        f"{place}: {type(node).__name__} {where}, which torch's serializer never writes",
    )


def literal(node: ast.expr, entry: str) -> None:
    """A literal: None, bool, int, float, str, a tuple / list of them (defaults, Final), or a
    value of constants.pkl (`CONSTANTS.c0`)."""
    if isinstance(node, ast.Constant) and (
        node.value is None or isinstance(node.value, bool | int | float | str)
    ):
        return
    if is_constants_entry(chain(node)) or (isinstance(node, ast.Name) and node.id in FLOAT_NAMES):
        return
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        literal(node.operand, entry)
        return
    if isinstance(node, ast.Tuple | ast.List):
        for element in node.elts:
            literal(element, entry)
        return
    raise construct(entry, node, "as a literal")


def is_constants_entry(parts: list[str] | None) -> bool:
    """`CONSTANTS.c<n>`: a value of the archive's constants.pkl."""
    return (
        parts is not None
        and len(parts) == 2
        and parts[0] == "CONSTANTS"
        and parts[1][:1] == "c"
        and parts[1][1:].isdigit()
    )


def annotation_key(node: ast.Assign) -> str | None:
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


def is_name_list(node: ast.Assign) -> bool:
    target = node.targets[0] if len(node.targets) == 1 else None
    return (
        isinstance(target, ast.Name)
        and target.id in ("__parameters__", "__buffers__", "__annotations__")
        and isinstance(node.value, ast.List)
        and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.value.elts)
    )


def is_version_line(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
        and node.targets[0].id == "op_version_set"
        and isinstance(node.value, ast.Constant)
        and type(node.value.value) is int
    )


def is_torchbind(qualified: str) -> bool:
    return qualified.startswith(TORCHBIND)


def bound_targets(node: ast.AST) -> Iterator[ast.expr]:
    """The names a statement binds (for the function's locals)."""
    if isinstance(node, ast.Assign):
        yield from node.targets
    elif isinstance(node, ast.AnnAssign | ast.For):
        yield node.target
    elif isinstance(node, ast.With):
        yield from (i.optional_vars for i in node.items if i.optional_vars is not None)


def bound_value(node: ast.AST) -> ast.expr | None:
    if isinstance(node, ast.Assign | ast.AnnAssign) and len(list(bound_targets(node))) == 1:
        return node.value
    return None
