"""A lite archive's bytecode must be what torch compiles from the archive's own code.

`_load_for_lite_interpreter` runs `bytecode.pkl` and trusts every operand: `LIST_CONSTRUCT 0 60`
on a shorter stack reads and frees memory before it, `GET_ATTR 50` reads past an object's slots,
`LOADC` and `JMP` index without bounds. Proving each operand in range would need the type of
every value. Instead, once the code has been judged (torchscript_code), torch itself compiles it
again (`torch.jit.load`, then `_save_to_buffer_for_lite_interpreter`, in the sandbox) and the
archive's bytecode must equal that compilation, function by function: same instructions, same
operands, same registers and schema. Bytecode torch would not have written is refused, whatever
it does.

Two things vary between two compilations of the same code and are compared by meaning, not by
index: the order of each function's constant, operator and type tables (instructions are compared
with their table operands resolved), and the node number of `WARN` (the full interpreter's
warn-once key, which the lite interpreter ignores).
"""

from __future__ import annotations

import io
import warnings
import zipfile
from pathlib import Path
from typing import Any

from registry.errors import FormatError
from registry.formats.pickle_scan import PickleScanError, scan_pickle
from registry.formats.torchscript_bytecode import BYTECODE_CODE

_CONSTANT_OPERAND = frozenset({"LOADC"})
_OPERATOR_OPERAND = frozenset({"OP", "OPN"})
_TYPE_OPERAND = frozenset(
    {"LIST_CONSTRUCT", "DICT_CONSTRUCT", "CREATE_OBJECT", "NAMED_TUPLE_CONSTRUCT"}
)
_TYPE_RANGE = frozenset({"ISINSTANCE"})


class OperandError(Exception):
    """An operand that names no table entry: torch never writes one."""


def _table(sections: dict[str, Any], name: str) -> tuple[Any, ...]:
    table = sections.get(name, ())
    return tuple(table) if isinstance(table, tuple | list) else ()


def _entry(table: tuple[Any, ...], index: Any, count: int = 1) -> Any:
    if type(index) is not int or index < 0 or count < 0 or index + count > len(table):
        raise OperandError
    return table[index] if count == 1 else table[index : index + count]


def _instruction(raw: Any, sections: dict[str, Any]) -> tuple[Any, ...]:
    """One instruction with its table operand replaced by the entry it names."""
    if not (isinstance(raw, tuple) and len(raw) == 3 and type(raw[1]) is int):
        raise OperandError
    opcode, x, n = raw
    if type(n) is not int:
        raise OperandError
    if opcode in _CONSTANT_OPERAND:
        return opcode, _entry(_table(sections, "constants"), x), n
    if opcode in _OPERATOR_OPERAND:
        return opcode, _entry(_table(sections, "operators"), x), n
    if opcode in _TYPE_OPERAND:
        return opcode, _entry(_table(sections, "types"), x), n
    if opcode in _TYPE_RANGE:
        return opcode, _entry(_table(sections, "types"), x, n), n
    if opcode == "WARN":
        return opcode, None, n
    return opcode, x, n


def canonical(value: Any) -> dict[str, Any]:
    """Each function's instructions (operands resolved), register count and schema."""
    functions: dict[str, Any] = {}
    for item in value[1:]:
        sections = dict(item[1])
        instructions = sections.get("instructions", ())
        functions[item[0]] = (
            tuple(_instruction(raw, sections) for raw in instructions),
            sections.get("register_size"),
            tuple(item[2:]),
        )
    return functions


def _compiled_bytecode(path: Path) -> Any:
    """What torch's lite serializer writes for the archive's code (the sandbox preloads torch)."""
    try:
        import torch
    except ImportError:  # without torch, nothing can prove the operands: refused, not trusted
        raise FormatError(
            BYTECODE_CODE,
            "a lite-interpreter archive is verified by compiling its code again with torch, "
            "which is not installed here; install modelreg with torch (pip install "
            "'modelreg[torch]') to validate .ptl files",
        ) from None

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch deprecates the lite interpreter for ExecuTorch
        try:
            module = torch.jit.load(str(path), map_location="cpu")  # type: ignore[no-untyped-call]
            written = module._save_to_buffer_for_lite_interpreter()
        except (RuntimeError, ValueError) as exc:
            raise FormatError(
                "format.invalid",
                f"torch cannot compile the archive's code: {str(exc).splitlines()[0]:.200}",
            ) from None
    with zipfile.ZipFile(io.BytesIO(written)) as archive:
        name = next(n for n in archive.namelist() if n.endswith("/bytecode.pkl"))
        return scan_pickle(archive.read(name)).value


def check_compiled(path: Path, value: Any, entry: str) -> None:
    """Refuse bytecode that differs from torch's own compilation of the archive's code."""
    try:
        expected = canonical(_compiled_bytecode(path))
    except (PickleScanError, OperandError) as exc:  # torch's own output: never expected
        raise FormatError("format.invalid", f"torch's recompilation is unreadable: {exc}") from None
    try:
        found = canonical(value)
    except OperandError:
        found = {}
    differing = sorted(set(found) ^ set(expected)) or sorted(
        name for name in found if found[name] != expected[name]
    )
    if differing:
        raise FormatError(
            BYTECODE_CODE,
            f"{entry}: the bytecode of {differing[0]} is not what torch compiles from the "
            "archive's code (instructions, operands or registers differ), so the lite "
            "interpreter would run instructions no judged code says; if the file is genuine, "
            "load it with torch.jit.load and save it again with _save_for_lite_interpreter "
            "(torch then compiles the bytecode from the code), or publish the .pt of "
            "torch.jit.save",
        )
