"""Lite-interpreter bytecode (`bytecode.pkl` of a `.ptl` archive), judged like the code.

`torch.jit.mobile._load_for_lite_interpreter` never reads `code/`: it runs the instructions of
`bytecode.pkl`, whose operator table names every native operator they call. So the operator table
is judged against the same allowlist as the code, every instruction against the instructions
torch's own lite serializer writes, and the two halves of the archive must agree: every function
of the bytecode is a function of the code, and every operator it calls is one the code names or
implies. A `.ptl` whose code is clean while its bytecode calls `aten::from_file` is refused for
that, by name.

The operands are not judged here: lite_recompile requires the whole bytecode to be what torch
compiles from the judged code.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from registry.errors import FormatError
from registry.formats.torchscript_code import OP_CODE, Allowlist, CodeSummary

BYTECODE_CODE = "security.torchscript-bytecode"
# Conversions the TorchScript compiler inserts where a value is used as another type: they stand
# for no syntax of the code (torch/csrc/jit/frontend/schema_matching.cpp, tryConvertToType).
COMPILER_IMPLICIT = frozenset(
    {"aten::IntImplicit", "aten::FloatImplicit", "aten::ScalarImplicit", "aten::ComplexImplicit"}
)
_SECTIONS = frozenset({"instructions", "operators", "constants", "types", "register_size"})
_CLASS_NAME = re.compile(r"__torch__(?:\.[A-Za-z_][A-Za-z0-9_]*)+")


def _refuse(entry: str, message: str, code: str = BYTECODE_CODE) -> FormatError:
    return FormatError(code, f"{entry}: {message}")


def _functions(value: Any, entry: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(qualified name, sections) of every function in the bytecode tuple."""
    for item in value[1:]:
        if not (isinstance(item, tuple) and len(item) >= 2 and isinstance(item[0], str)):
            raise _refuse(entry, "a bytecode function is not (name, sections, ...)")
        body = item[1]
        if not (isinstance(body, tuple) and all(_is_section(s) for s in body)):
            raise _refuse(entry, f"function {item[0]} has malformed sections")
        sections = dict(body)
        unknown = sorted(set(sections) - _SECTIONS)
        if unknown or not {"instructions", "operators"} <= set(sections):
            raise _refuse(entry, f"function {item[0]} has sections {sorted(sections)}")
        yield item[0], sections


def _is_section(section: Any) -> bool:
    return isinstance(section, tuple) and len(section) == 2 and isinstance(section[0], str)


def judge_bytecode(value: Any, entry: str, code: CodeSummary, allow: Allowlist) -> frozenset[str]:
    """Judge the unpickled `bytecode.pkl`; the operators it calls."""
    if not (isinstance(value, tuple) and value and type(value[0]) is int):
        raise _refuse(entry, "not a bytecode tuple (version, functions...)")
    allow.require(
        allow.bytecode_versions,
        str(value[0]),
        f"{entry}: bytecode version {value[0]}, which torch's lite serializer does not write",
        BYTECODE_CODE,
    )
    known = code.operators | code.implied | COMPILER_IMPLICIT
    called: set[str] = set()
    for name, sections in _functions(value, entry):
        if name not in code.functions:
            raise _refuse(entry, f"the bytecode defines {name}, which the archive's code lacks")
        for instruction in _tuples(sections["instructions"], entry, "instruction"):
            opcode = instruction[0] if instruction else None
            if not isinstance(opcode, str):
                raise _refuse(entry, f"{name}: malformed instruction {instruction!r:.80}")
            allow.require(
                allow.instructions,
                opcode,
                f"{entry}: {name} uses the instruction {opcode}, which torch's lite serializer "
                "never writes for ordinary models",
                BYTECODE_CODE,
            )
        for operator in _tuples(sections["operators"], entry, "operator"):
            if not (operator and isinstance(operator[0], str)):
                raise _refuse(entry, f"{name}: malformed operator {operator!r:.80}")
            op = operator[0]
            called.add(op)
            allow.require(
                allow.operators,
                op,
                f"{entry}: {name} calls {op}, an operator real models never use",
                OP_CODE,
            )
            if op not in known and not allow.recording:
                allow.refuse(
                    BYTECODE_CODE,
                    f"{entry}: {name} calls {op}, which the archive's code neither names nor "
                    "implies: the bytecode and the code disagree",
                )
        for type_name in _tuples(sections.get("types", ()), entry, "type", str):
            for qualified in _CLASS_NAME.findall(type_name):
                if qualified not in code.classes and not qualified.startswith(
                    "__torch__.torch.classes."
                ):
                    raise _refuse(entry, f"{name} uses type {qualified}, which the code lacks")
    allow.raise_refusals()
    return frozenset(called)


def _tuples(items: Any, entry: str, what: str, kind: type = tuple) -> Iterator[Any]:
    if not isinstance(items, tuple | list):
        raise _refuse(entry, f"the {what} table is not a sequence")
    for item in items:
        if not isinstance(item, kind):
            raise _refuse(entry, f"malformed {what} {item!r:.80}")
        yield item
