"""Read a pickle opcode by opcode without executing it: the globals it names, its storages.

A symbolic unpickler: it keeps a stack of inert values (strings, numbers, tuples, and placeholders
for globals and calls), so it can tell which globals a pickle would import and which tensor
storages a TorchScript `data.pkl` refers to. Nothing is imported, called or constructed.
"""

from __future__ import annotations

import pickletools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, SupportsIndex


class PickleScanError(Exception):
    """The pickle cannot be read; never treat such a pickle as clean."""


@dataclass(frozen=True, slots=True)
class Global:
    module: str
    name: str

    @property
    def qualified(self) -> str:
        return f"{self.module}.{self.name}"


@dataclass(frozen=True, slots=True)
class Call:
    callable: Any
    args: Any


@dataclass(frozen=True, slots=True)
class Storage:
    """A tensor storage a TorchScript pickle points to: ('storage', type, key, location, numel)."""

    type_name: str
    key: str
    numel: int


@dataclass
class PickleSummary:
    globals: list[Global] = field(default_factory=list)
    storages: list[Storage] = field(default_factory=list)
    opcodes: int = 0
    # What the pickle builds, as inert values: tuples, lists, dicts, str, int, float, None,
    # and Global / Call placeholders (lite bytecode is read from it).
    value: Any = None
    end: int | None = None  # the position after STOP


class _Mark:
    pass


_MARK = _Mark()

_PUSH_ARG = {
    "BININT",
    "BININT1",
    "BININT2",
    "INT",
    "LONG",
    "LONG1",
    "LONG4",
    "BINFLOAT",
    "FLOAT",
    "BINUNICODE",
    "SHORT_BINUNICODE",
    "BINUNICODE8",
    "UNICODE",
    "STRING",
    "BINSTRING",
    "SHORT_BINSTRING",
    "BINBYTES",
    "SHORT_BINBYTES",
    "BINBYTES8",
    "BYTEARRAY8",
}
_CONSTANTS = {"NONE": None, "NEWTRUE": True, "NEWFALSE": False}
_IGNORED = {"PROTO", "FRAME", "STOP", "MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT"}


def scan_pickle(data: bytes, max_opcodes: int = 5_000_000) -> PickleSummary:
    """Walk every opcode; raise PickleScanError for anything malformed or unsupported."""
    summary = PickleSummary()
    _walk(data, summary, max_opcodes)
    if summary.end is None:
        raise PickleScanError("the pickle ends without a STOP opcode")
    return summary


class _Stack(list[Any]):
    """The symbolic stack: taking from it when it is empty is a malformed pickle (an explicit
    PickleScanError, so that an IndexError is always a bug of the scanner)."""

    def pop(self, index: SupportsIndex = -1, /) -> Any:
        if not self:
            raise PickleScanError("an opcode takes from an empty stack")
        return super().pop(index)

    def top(self) -> Any:
        if not self:
            raise PickleScanError("an opcode reads an empty stack")
        return self[-1]


class _Memo(dict[int, Any]):
    """The memo: reading an index never written is a malformed pickle."""

    def __missing__(self, key: int) -> Any:
        raise PickleScanError(f"the memo is read at {key}, which was never written")


def _opcodes(data: bytes) -> Iterator[tuple[Any, Any, int | None]]:
    """pickletools' opcode reader. What it raises on bytes that are not opcodes (ValueError,
    UnicodeDecodeError included) is a malformed pickle; nothing else is caught."""
    opcodes = pickletools.genops(data)
    while True:
        try:
            found = next(opcodes)
        except StopIteration:
            return
        except ValueError as exc:
            raise PickleScanError(f"malformed pickle: {exc}") from exc
        yield found


def _walk(data: bytes, summary: PickleSummary, max_opcodes: int) -> None:
    stack = _Stack()
    memo = _Memo()
    arg: Any
    for opcode, arg, position in _opcodes(data):
        summary.opcodes += 1
        if summary.opcodes > max_opcodes:
            raise PickleScanError(f"more than {max_opcodes} opcodes")
        name = opcode.name
        if name in ("MEMOIZE",):
            memo[len(memo)] = stack.top()
        elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
            memo[int(arg)] = stack.top()
        elif name == "STOP":
            summary.value = stack[-1] if stack else None
            summary.end = (position or 0) + 1
        elif name in ("GLOBAL", "INST"):
            # pickletools joins the two lines with a space and undoes escapes; the unpickler
            # takes each line as it is (UTF-8): read them the unpickler's way.
            _global(stack, summary, *_global_lines(data, position or 0))
            if name == "INST":
                raise PickleScanError("opcode INST (protocol 0 object creation)")
        elif name in ("EXT1", "EXT2", "EXT4"):
            summary.globals.append(Global("copyreg extension", str(arg)))
            raise PickleScanError(f"opcode {name} (a registered extension)")
        elif name in _IGNORED:
            pass
        else:
            _step(name, arg, stack, memo, summary)


def _global_lines(data: bytes, position: int) -> tuple[str, str]:
    """Module and name of the GLOBAL opcode at `position`: two lines (pickletools found them),
    each decoded as UTF-8, as the unpickler does (which fails where this refuses)."""
    first = data.index(b"\n", position + 1)
    second = data.index(b"\n", first + 1)
    try:
        return (
            data[position + 1 : first].decode("utf-8"),
            data[first + 1 : second].decode("utf-8"),
        )
    except UnicodeDecodeError as exc:
        raise PickleScanError(f"GLOBAL names a module or a name that is not UTF-8 ({exc})") from exc


def _pop_mark(stack: list[Any]) -> list[Any]:
    for index in range(len(stack) - 1, -1, -1):
        if stack[index] is _MARK:
            items = stack[index + 1 :]
            del stack[index:]
            return items
    raise PickleScanError("MARK expected on the stack")


def _step(name: str, arg: Any, stack: _Stack, memo: _Memo, out: PickleSummary) -> None:
    if name in _PUSH_ARG:
        stack.append(arg)
    elif name in _CONSTANTS:
        stack.append(_CONSTANTS[name])
    elif name == "MARK":
        stack.append(_MARK)
    elif name in ("BINGET", "LONG_BINGET", "GET"):
        stack.append(memo[int(arg)])
    elif name == "EMPTY_TUPLE":
        stack.append(())
    elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
        count = int(name[-1])
        top = tuple(stack[-count:])
        if len(top) != count:
            raise PickleScanError(f"{name} on a short stack")
        del stack[-count:]
        stack.append(top)
    elif name == "TUPLE":
        stack.append(tuple(_pop_mark(stack)))
    elif name in ("EMPTY_LIST", "EMPTY_DICT", "EMPTY_SET"):
        stack.append([] if name == "EMPTY_LIST" else {})
    elif name == "LIST":
        stack.append(_pop_mark(stack))
    elif name == "DICT":
        stack.append(_pairs(_pop_mark(stack)))
    elif name == "APPEND":
        value = stack.pop()
        _container(stack, list).append(value)
    elif name == "APPENDS":
        items = _pop_mark(stack)
        _container(stack, list).extend(items)
    elif name == "SETITEM":
        value, key = stack.pop(), stack.pop()
        _container(stack, dict)[_hashable(key)] = value
    elif name == "SETITEMS":
        pairs = _pairs(_pop_mark(stack))
        _container(stack, dict).update(pairs)
    elif name in ("ADDITEMS",):
        _pop_mark(stack)
    elif name in ("FROZENSET",):
        stack.append(frozenset(map(_hashable, _pop_mark(stack))))
    elif name == "STACK_GLOBAL":
        attribute, module = stack.pop(), stack.pop()
        if not isinstance(module, str) or not isinstance(attribute, str):
            raise PickleScanError("STACK_GLOBAL with non-string operands")
        _global(stack, out, module, attribute)
    elif name in ("REDUCE", "NEWOBJ"):
        args, target = stack.pop(), stack.pop()
        stack.append(Call(target, args))
    elif name == "NEWOBJ_EX":
        _kwargs, args, target = stack.pop(), stack.pop(), stack.pop()
        stack.append(Call(target, args))
    elif name == "BUILD":
        stack.pop()  # the state; the object stays
        if not stack:
            raise PickleScanError("BUILD on an empty stack")
    elif name in ("BINPERSID", "PERSID"):
        pid = stack.pop() if name == "BINPERSID" else arg
        stack.append(_persistent(pid, out))
    elif name == "POP":
        stack.pop()
    elif name == "POP_MARK":
        _pop_mark(stack)
    elif name == "DUP":
        stack.append(stack.top())
    elif name == "OBJ":
        raise PickleScanError(f"opcode {name} (protocol 1 object creation) is not supported")
    else:
        raise PickleScanError(f"unsupported opcode {name}")


def _global(stack: list[Any], out: PickleSummary, module: str, attribute: str) -> None:
    found = Global(module, attribute)
    out.globals.append(found)
    stack.append(found)


def _persistent(pid: Any, out: PickleSummary) -> Any:
    if isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage":
        _, storage_type, key, _location, numel = pid
        type_name = (
            storage_type.qualified if isinstance(storage_type, Global) else str(storage_type)
        )
        if not isinstance(numel, int) or numel < 0:
            raise PickleScanError("storage with an invalid element count")
        out.storages.append(Storage(type_name, str(key), numel))
    return Call("persistent_load", pid)


def _container(stack: list[Any], kind: type) -> Any:
    if not stack or not isinstance(stack[-1], kind):
        # Appending to a placeholder object (e.g. a reduced OrderedDict) is inert.
        if stack and isinstance(stack[-1], Call | Global):
            return [] if kind is list else {}
        raise PickleScanError(f"expected a {kind.__name__} on the stack")
    return stack[-1]


def _hashable(value: Any) -> Any:
    # Only flat values: hashing (or printing) a crafted 200,000-deep tuple overflows the C stack.
    if value is None or isinstance(value, str | bytes | int | float | Global):
        return value
    return f"<{type(value).__name__}>"


def _pairs(items: list[Any]) -> dict[Any, Any]:
    if len(items) % 2:
        raise PickleScanError("odd number of items for a dict")
    return {_hashable(items[i]): items[i + 1] for i in range(0, len(items), 2)}
