"""Zip archives read the way torch reads them, refused wherever two readers could disagree.

torch's reader (miniz, behind torch._C.PyTorchFileReader) and Python's `zipfile` locate the
central directory differently (the recorded offset vs the end record's position), count entries
differently (the end record's count vs the directory's size), match names differently (ASCII case
ignored vs exact), and torch never checks a CRC. One file can therefore show a scanner one archive
and torch another. This reader accepts only the layout both agree on, which is what torch's own
writer produces: the end record last with no comment and no second end record near it, the
central directory right before it, entries tiling the file from byte 0 with no gap or overlap,
local headers equal to the central ones, plain printable names unique after case folding, stored
or deflated data whose CRC-32 matches. Anything else is `security.zip-ambiguous` (or
`security.zip-duplicate-name`). Lookups then ignore ASCII case, as torch's do.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from registry.errors import FormatError

AMBIGUOUS = "security.zip-ambiguous"
DUPLICATE = "security.zip-duplicate-name"

_EOCD = b"PK\x05\x06"
_ZIP64_EOCD = b"PK\x06\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_CENTRAL = b"PK\x01\x02"
_LOCAL = b"PK\x03\x04"
_DESCRIPTOR = b"PK\x07\x08"
# Readers search this far back from the end for an end record (miniz: 64 KiB + its 4 KiB block).
TAIL_SEARCH = 0xFFFF + 22 + 4096
_ALLOWED_FLAGS = 0x0008 | 0x0800  # data descriptor, UTF-8 names: what torch's writer sets
_METHODS = (0, 8)  # stored, deflated: the two both readers support
_MAX_VERSION = 63  # Python refuses the whole archive above it; miniz ignores it
_MAX_NAME = 511  # torch truncates longer names
_SENTINEL = 0xFFFFFFFF
_COPY = 1 << 20


@dataclass(frozen=True, slots=True)
class Entry:
    name: str
    method: int
    flags: int
    crc32: int
    compressed_size: int
    size: int
    header_offset: int
    data_offset: int = 0
    end: int = 0  # after the data and its descriptor

    @property
    def folded(self) -> str:
        """The name as torch compares it: ASCII letters lowered."""
        return self.name.lower()


def _ambiguous(message: str) -> FormatError:
    return FormatError(AMBIGUOUS, f"{message}: zip readers could disagree on this archive")


def unreadable(exc: OSError) -> FormatError:
    """The file's bytes cannot be read (an I/O error): the only OSError a reader turns into a
    finding; everything else it raises is either a FormatError or a bug."""
    return FormatError("format.invalid", f"the archive cannot be read ({exc})")


class StrictZip:
    """A zip archive every reader sees the same way; raises FormatError otherwise."""

    def __init__(self, handle: BinaryIO, size: int, max_entries: int, start: int = 0) -> None:
        """`start`: where the archive begins (an archive appended to another file)."""
        self.handle = handle
        self.size = size
        self.start = start
        cd_offset, cd_size, count = self._end_records()
        if count > max_entries:
            raise FormatError(
                "format.resource-limit", f"{count} zip entries, over the limit {max_entries}"
            )
        self.entries: tuple[Entry, ...] = tuple(self._central_directory(cd_offset, cd_size, count))
        self._check_names()
        self.entries = self._local_headers(cd_offset)
        self._by_folded = {e.folded: e for e in self.entries}

    # -- reading ----------------------------------------------------------------------------
    def _read(self, offset: int, length: int) -> bytes:
        try:
            self.handle.seek(offset)
            data = self.handle.read(length)
        except OSError as exc:
            raise unreadable(exc) from None
        if len(data) != length:
            raise _ambiguous(f"a record at byte {offset} runs past the end of the file")
        return data

    def find(self, name: str) -> Entry | None:
        """The entry torch finds for `name` (ASCII case ignored)."""
        return self._by_folded.get(name.lower())

    def read(self, entry: Entry, limit: int) -> bytes:
        """The entry's bytes, checked against its size and CRC-32; `limit` caps the size."""
        if entry.size > limit:
            raise FormatError("format.resource-limit", f"{entry.name} is larger than its limit")
        return b"".join(self.pieces(entry))

    def verify(self, entry: Entry) -> None:
        """Check the entry's size and CRC-32 without keeping its bytes (tensor data can be
        gigabytes): Python's zipfile refuses a wrong CRC, torch's reader does not look."""
        for _ in self.pieces(entry):
            pass

    def pieces(self, entry: Entry) -> Iterator[bytes]:
        inflater = zlib.decompressobj(-15) if entry.method == 8 else None
        crc = produced = 0
        position, remaining = entry.data_offset, entry.compressed_size
        while remaining:
            raw = self._read(position, min(_COPY, remaining))
            position += len(raw)
            remaining -= len(raw)
            for piece in _inflated(inflater, raw, entry.name) if inflater else (raw,):
                produced += len(piece)
                if produced > entry.size:
                    raise _ambiguous(f"{entry.name} holds more bytes than its header says")
                crc = zlib.crc32(piece, crc)
                yield piece
        if inflater is not None and (not inflater.eof or inflater.unused_data):
            raise _ambiguous(f"{entry.name}: the deflate stream does not end where the entry does")
        if produced != entry.size:
            raise _ambiguous(f"{entry.name} holds {produced} bytes, its header says {entry.size}")
        if crc != entry.crc32:
            raise _ambiguous(f"{entry.name} does not match its CRC-32 (torch would not notice)")

    # -- the end records --------------------------------------------------------------------
    def _end_records(self) -> tuple[int, int, int]:
        """(central directory offset, size, entry count), after checking that every reader
        finds the same end records and the same directory."""
        if self.size < 22:
            raise FormatError("format.invalid", "too short for a zip archive")
        eocd_at = self.size - 22
        tail_start = max(self.start, self.size - TAIL_SEARCH)
        tail = self._read(tail_start, self.size - tail_start)
        record = tail[-22:]
        if not record.startswith(_EOCD) or record[20:22] != b"\0\0":
            raise _ambiguous(
                "the archive does not end with its end-of-central-directory record (a comment "
                "or data after it)"
            )
        if tail.count(_EOCD) != 1:
            raise _ambiguous(
                "the end of the archive holds more than one end-of-central-directory record"
            )
        disk, cd_disk, on_disk, total, cd_size, cd_offset = struct.unpack("<4xHHHHII", record[:20])
        if disk or cd_disk or on_disk != total:
            raise _ambiguous("the end record names several disks")
        cd_end = eocd_at
        if eocd_at >= 76 and self._read(eocd_at - 20, 4) == _ZIP64_LOCATOR:
            cd_offset, cd_size, total, cd_end = self._zip64(eocd_at, (total, cd_size, cd_offset))
        elif _SENTINEL in (cd_size, cd_offset) or total == 0xFFFF:
            raise _ambiguous("the end record uses zip64 values without a zip64 record")
        if cd_offset + cd_size != cd_end:
            raise _ambiguous(
                f"the central directory is recorded at byte {cd_offset} but ends at {cd_end}: "
                "data before or inside the archive moves it for one reader and not the other"
            )
        return cd_offset, cd_size, total

    def _zip64(self, eocd_at: int, short: tuple[int, int, int]) -> tuple[int, int, int, int]:
        locator = self._read(eocd_at - 20, 20)
        disk, record_at, disks = struct.unpack("<4xIQI", locator)
        if disk != 0 or disks != 1 or record_at != eocd_at - 76:
            raise _ambiguous("the zip64 locator points elsewhere than right before it")
        record = self._read(record_at, 56)
        if not record.startswith(_ZIP64_EOCD):
            raise _ambiguous("the zip64 end record is missing")
        length, _, needed, disk, cd_disk, on_disk, total, cd_size, cd_offset = struct.unpack(
            "<4xQHHIIQQQQ", record
        )
        if length != 44 or needed > _MAX_VERSION or disk or cd_disk or on_disk != total:
            raise _ambiguous("the zip64 end record has extensible data or several disks")
        for value, wide, sentinel in zip(
            short, (total, cd_size, cd_offset), (0xFFFF, _SENTINEL, _SENTINEL), strict=True
        ):
            if value not in (wide, sentinel):
                raise _ambiguous("the end record and the zip64 end record disagree")
        return cd_offset, cd_size, total, record_at

    # -- the central directory --------------------------------------------------------------
    def _central_directory(self, offset: int, size: int, count: int) -> list[Entry]:
        directory = self._read(offset, size)
        entries: list[Entry] = []
        position = 0
        for _ in range(count):
            if position + 46 > size or directory[position : position + 4] != _CENTRAL:
                raise _ambiguous(
                    "the central directory holds fewer records than the end record says"
                )
            fields = struct.unpack("<4xHHHHHHIIIHHHHHII", directory[position : position + 46])
            (
                _,
                needed,
                flags,
                method,
                _,
                _,
                crc,
                csize,
                usize,
                n,
                e,
                c,
                disk,
                _,
                attributes,
                lho,
            ) = fields
            end = position + 46 + n + e + c
            if end > size:
                raise _ambiguous("a central directory record runs past the directory")
            raw_name = directory[position + 46 : position + 46 + n]
            extra = directory[position + 46 + n : position + 46 + n + e]
            if needed > _MAX_VERSION or disk or c:
                raise _ambiguous(f"entry {raw_name!r:.80} needs zip features torch does not read")
            if flags & 0x41:  # bits 0 and 6: encryption
                raise FormatError("format.unsafe-archive", f"entry {raw_name!r:.80} is encrypted")
            if method not in _METHODS:
                raise FormatError(
                    "format.invalid",
                    f"entry {raw_name!r:.80} uses compression method {method}; torch's reader "
                    "reads stored (0) and deflated (8) entries only",
                )
            if flags & ~_ALLOWED_FLAGS or attributes & 0x10:
                raise _ambiguous(
                    f"entry {raw_name!r:.80} is marked as a directory or uses flags torch's "
                    "writer never sets"
                )
            usize, csize, lho = _zip64_extra(raw_name, extra, usize, csize, lho)
            if method == 0 and csize != usize:
                raise _ambiguous(f"stored entry {raw_name!r:.80} has two different sizes")
            entries.append(Entry(_name(raw_name), method, flags, crc, csize, usize, lho))
            position = end
        if position != size:
            raise _ambiguous("the central directory holds more records than the end record says")
        return entries

    def _check_names(self) -> None:
        seen: dict[str, str] = {}
        for entry in self.entries:
            if entry.folded in seen:
                other = seen[entry.folded]
                raise FormatError(
                    DUPLICATE,
                    f"entries {other} and {entry.name} have the same name when case is ignored, "
                    "as torch's reader ignores it: torch may load another one than a scanner",
                )
            seen[entry.folded] = entry.name

    # -- local headers and the layout -------------------------------------------------------
    def _local_headers(self, cd_offset: int) -> tuple[Entry, ...]:
        placed: list[Entry] = []
        expected = self.start
        for entry in sorted(self.entries, key=lambda e: e.header_offset):
            if entry.header_offset != expected:
                raise _ambiguous(
                    f"{entry.name} starts at byte {entry.header_offset}, not where the previous "
                    f"entry ends ({expected}): a gap or an overlap hides data"
                )
            header = self._read(entry.header_offset, 30)
            (sig, _, flags, method, time, date, crc, csize, usize, n, e) = struct.unpack(
                "<4sHHHHHIIIHH", header
            )
            name = self._read(entry.header_offset + 30, n)
            sizes = (crc, csize, usize)
            central = (
                entry.crc32,
                *(min(v, _SENTINEL) for v in (entry.compressed_size, entry.size)),
            )
            described = entry.flags & 0x8 and sizes == (0, 0, 0)
            if (
                sig != _LOCAL
                or flags != entry.flags
                or method != entry.method
                or name != entry.name.encode("ascii")
                or not (described or sizes == central)
            ):
                raise _ambiguous(
                    f"the local header of {entry.name} differs from its central record"
                )
            del time, date  # both readers ignore them; torch writes zeros
            data = entry.header_offset + 30 + n + e
            end = data + entry.compressed_size
            if entry.flags & 0x8:
                end = self._descriptor(entry, end)
            placed.append(_with_layout(entry, data, end))
            expected = end
        if expected != cd_offset:
            raise _ambiguous(
                f"the entries end at byte {expected} but the central directory starts at "
                f"{cd_offset}: data between them is invisible to one reader"
            )
        order = {e.name: i for i, e in enumerate(self.entries)}
        return tuple(sorted(placed, key=lambda e: order[e.name]))

    def _descriptor(self, entry: Entry, at: int) -> int:
        """The data descriptor after an entry's data (16 bytes, 24 with zip64 sizes)."""
        wide = entry.size >= _SENTINEL or entry.compressed_size >= _SENTINEL
        length = 24 if wide else 16
        record = self._read(at, length)
        layout = "<4sIQQ" if wide else "<4sIII"
        sig, crc, csize, usize = struct.unpack(layout, record)
        if (sig, crc, csize, usize) != (
            _DESCRIPTOR,
            entry.crc32,
            entry.compressed_size,
            entry.size,
        ):
            raise _ambiguous(f"the data descriptor of {entry.name} differs from its central record")
        return at + length


def _inflated(inflater: Any, raw: bytes, name: str) -> Iterator[bytes]:
    """Deflated bytes in bounded pieces (a bomb is stopped by the caller's size check)."""
    try:
        data = raw
        while data and not inflater.eof:
            yield inflater.decompress(data, _COPY)
            data = inflater.unconsumed_tail
    except zlib.error as exc:
        raise FormatError("format.invalid", f"{name}: bad deflate data ({exc})") from None


def _with_layout(entry: Entry, data: int, end: int) -> Entry:
    return Entry(
        entry.name,
        entry.method,
        entry.flags,
        entry.crc32,
        entry.compressed_size,
        entry.size,
        entry.header_offset,
        data,
        end,
    )


def _name(raw: bytes) -> str:
    """A plain relative name: printable ASCII without spaces or backslashes, no `..`, no empty
    part, no trailing `/` (a directory), at most 511 bytes; any other name reads differently in
    one reader or another (NUL truncation, code pages, case folding)."""
    text = raw.decode("ascii", errors="replace")
    parts = text.split("/")
    if (
        not raw
        or len(raw) > _MAX_NAME
        or any(b <= 0x20 or b >= 0x7F or b == 0x5C for b in raw)
        or "" in parts
        or ".." in parts
        or "." in parts
    ):
        raise FormatError(
            "format.unsafe-archive",
            f"entry name {text!r:.120} is not a plain relative path of printable ASCII",
        )
    return text


def _zip64_extra(
    raw_name: bytes, extra: bytes, usize: int, csize: int, lho: int
) -> tuple[int, int, int]:
    """Sizes and offset after the zip64 extra field, which must be there exactly when a 32-bit
    value is the sentinel, hold exactly those values, and be the only such field."""
    fields: list[tuple[int, bytes]] = []
    position = 0
    while position < len(extra):
        if position + 4 > len(extra):
            raise _ambiguous(f"entry {raw_name!r:.80} has a malformed extra field")
        kind, length = struct.unpack_from("<HH", extra, position)
        if position + 4 + length > len(extra):
            raise _ambiguous(f"entry {raw_name!r:.80} has a malformed extra field")
        fields.append((kind, extra[position + 4 : position + 4 + length]))
        position += 4 + length
    zip64 = [data for kind, data in fields if kind == 0x0001]
    wanted = [v for v in (usize, csize, lho) if v == _SENTINEL]
    if (
        len(zip64) > 1
        or (bool(zip64) != bool(wanted))
        or (zip64 and len(zip64[0]) != 8 * len(wanted))
    ):
        raise _ambiguous(f"entry {raw_name!r:.80} has a zip64 field that readers read differently")
    values = list(struct.unpack(f"<{len(wanted)}Q", zip64[0])) if zip64 else []
    resolved = []
    for value in (usize, csize, lho):
        resolved.append(values.pop(0) if value == _SENTINEL else value)
    if any(v >= 1 << 62 for v in resolved):
        raise _ambiguous(f"entry {raw_name!r:.80} declares an impossible size")
    return resolved[0], resolved[1], resolved[2]
