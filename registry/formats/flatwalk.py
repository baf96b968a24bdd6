"""A bounded walk over a flatbuffer, beside the generated accessors that read it.

The generated accessors (the `tflite` package) trust every offset. The walk checks each table,
vector and string it is shown against the file's bounds, refuses a table referenced twice (no
real writer shares a tensor or an operator between two places, and aliasing is how a 25 KB file
makes a reader visit one table millions of times), counts what it visits against a budget
proportional to the file's size, and remembers the last byte anything refers to: a file that goes
on past it carries data no reader of the format sees (an appended archive, for instance).
"""

from __future__ import annotations

import struct
from typing import Any

from registry.errors import FormatError

# Distinct tables and vector elements visited per byte of file, at most: each occupies at least
# four bytes of its own once aliasing is refused, so an honest file stays far below.
VISITS_PER_BYTE = 0.5
MIN_BUDGET = 100_000


def _invalid(message: str) -> FormatError:
    return FormatError("format.invalid", message)


class FlatWalk:
    def __init__(self, buffer: Any, size: int) -> None:
        self.buffer = buffer
        self.size = size
        self.budget = max(MIN_BUDGET, int(size * VISITS_PER_BYTE))
        self.end = 8  # the root offset and the file identifier
        self._tables: dict[int, str] = {}
        self._vectors: set[int] = set()

    def visit(self, count: int = 1) -> None:
        self.budget -= count
        if self.budget < 0:
            raise _invalid("the flatbuffer refers to far more than its size holds")

    def reach(self, end: int) -> None:
        """Something the format reads ends at byte `end`."""
        if end > self.size:
            raise _invalid("an object of the flatbuffer extends past the end of the file")
        self.end = max(self.end, end)

    def _u16(self, at: int) -> int:
        if not 0 <= at <= self.size - 2:
            raise _invalid("a vtable lies outside the file")
        return int(struct.unpack_from("<H", self.buffer, at)[0])

    def table(self, obj: Any, what: str, shared: bool = False) -> None:
        """A table (its object and its vtable) at obj's position; `shared`: the format may refer
        to it from several places (vtables always are)."""
        tab = getattr(obj, "_tab", obj)
        position = int(tab.Pos)
        if not 4 <= position <= self.size - 4:
            raise _invalid(f"{what} lies outside the file")
        if not shared:
            if position in self._tables:
                raise _invalid(
                    f"{what} is the same table as {self._tables[position]}: aliasing no "
                    "real writer produces"
                )
            self._tables[position] = what
        self.visit()
        vtable = position - struct.unpack_from("<i", self.buffer, position)[0]
        vtable_size, object_size = self._u16(vtable), self._u16(vtable + 2)
        if vtable_size < 4 or vtable_size % 2:
            raise _invalid(f"{what} has a malformed vtable")
        self.reach(vtable + vtable_size)
        self.reach(position + object_size)

    def vector(
        self, obj: Any, slot: int, element_size: int, what: str, visited: bool = True
    ) -> int:
        """Length of the vector in vtable `slot`, after checking it lies inside the file.
        `visited`: its elements will be read one by one (weights are not, they only count
        against the file's size). A vector shared by several tables is visited once."""
        tab = obj._tab
        offset = tab.Offset(slot)
        if not offset:
            return 0
        start = int(tab.Vector(offset))
        length = int(tab.VectorLen(offset))
        if start < 4:
            raise _invalid(f"{what} lies outside the file")
        self.reach(start + length * element_size)
        if start not in self._vectors:
            self._vectors.add(start)
            if visited:
                self.visit(length)
        return length

    def string(self, obj: Any, slot: int, what: str) -> None:
        """A string field: its bytes and the NUL after them."""
        length = self.vector(obj, slot, 1, what, visited=False)
        if length:
            self.reach(int(obj._tab.Vector(obj._tab.Offset(slot))) + length + 1)

    def union(self, obj: Any, slot: int, what: str) -> None:
        """A union's table (operator options): its extent, whatever its type."""
        tab = obj._tab
        offset = tab.Offset(slot)
        if offset:
            from flatbuffers.table import Table

            target = Table(tab.Bytes, 0)
            tab.Union(target, offset)
            self.table(target, what, shared=True)

    def beyond(self, offset: int, size: int, what: str) -> None:
        """Data addressed by offset and size past the flatbuffer (models over 2 GB)."""
        if offset > 1:
            if offset + size > self.size:
                raise _invalid(f"{what}: offset+size lies past the end of the file")
            self.reach(offset + size)

    @staticmethod
    def index(value: int, limit: int, what: str, optional: bool = False) -> int:
        if (optional and value == -1) or 0 <= value < limit:
            return value
        raise _invalid(f"{what} {value} is out of range (0..{limit - 1})")
