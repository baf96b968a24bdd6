"""A model file must be one format only: no other loader may open it as its own.

Consumers load what they fetch with whatever loader they use, often by file name, often with
torch. `torch.jit.load` and `torch.load` find a zip archive by its end record near the end of any
file; `torch.load(weights_only=False)` unpickles a file from its first byte, and tries a tar
archive first. So an ONNX or TFLite file that also holds a zip, starts with a pickle or parses as
a tar header runs code on a consumer who loads it with torch. Each is `security.polyglot`.
"""

from __future__ import annotations

import pickle
import tarfile
from pathlib import Path
from typing import Any

from registry.errors import FormatError
from registry.formats.zipstrict import TAIL_SEARCH

POLYGLOT = "security.polyglot"
_ZIP_END = b"PK\x05\x06"
_ZIP64_END = b"PK\x06\x06"
# Real model files fail as a pickle within their first bytes; a pickle stream this long is one.
PICKLE_WINDOW = 1 << 16


def _refuse(message: str) -> FormatError:
    return FormatError(POLYGLOT, message)


def check_zip_tail(path: Path, size: int) -> None:
    with path.open("rb") as handle:
        handle.seek(max(0, size - TAIL_SEARCH))
        tail = handle.read()
    for signature in (_ZIP_END, _ZIP64_END):
        if signature in tail:
            raise _refuse(
                "the file holds a zip end record near its end: torch.jit.load and torch.load "
                "would open it as an archive and run the code inside"
            )


class _Acted(Exception):
    """The unpickler reached for a global or a persistent object: it would act."""


class _Recording(pickle.Unpickler):
    """Python's own unpickler (what torch.load uses), stopped at the first thing that acts."""

    def find_class(self, module: str, name: str) -> Any:
        raise _Acted(f"imports {module}.{name}")

    def persistent_load(self, pid: Any) -> Any:
        raise _Acted("loads a persistent object")


class _Window:
    """The file's first bytes as the unpickler reads them, noting whether it read past them
    (the pickle would go on into the rest of the file)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0
        self.past_end = False

    def read(self, size: int = -1) -> bytes:
        wanted = len(self.data) - self.at if size < 0 else size
        chunk = self.data[self.at : self.at + wanted]
        self.at += len(chunk)
        self.past_end |= len(chunk) < wanted
        return chunk

    def readline(self) -> bytes:
        end = self.data.find(b"\n", self.at)
        if end < 0:
            self.past_end = True
            end = len(self.data) - 1
        return self.read(end + 1 - self.at)


def check_pickle_prefix(head: bytes, whole_file: bool) -> None:
    """Refuse a file whose first bytes torch.load's legacy unpickler would act on. They are
    unpickled for real, by the same unpickler, with imports and persistent loads stopped: an
    opcode a symbolic scanner does not model cannot hide what follows. torch.load reads several
    pickles in a row, each after the previous STOP. Where the unpickling fails only because it
    reached the end of `head` and the file goes on (`whole_file` false), what follows is
    unknown: a pickle that long is refused too (real model files fail within a few bytes)."""
    stream = _Window(head)
    while stream.at < len(head):
        try:
            _Recording(stream).load()
        except _Acted as acted:
            raise _refuse(
                f"the file starts with a pickle that {acted}: torch.load(weights_only=False) "
                "would run it"
            ) from None
        except Exception:  # noqa: BLE001 - where unpickling fails, nothing further runs
            if stream.past_end and not whole_file:
                break
            return
    if not whole_file:
        raise _refuse(
            f"the first {len(head)} bytes of the file parse as pickles that go on: "
            "torch.load would unpickle it"
        )


def check_tar_header(head: bytes) -> None:
    """torch.load opens a file as a (legacy) tar archive before anything else."""
    if len(head) < tarfile.BLOCKSIZE:
        return
    try:
        tarfile.TarInfo.frombuf(head[: tarfile.BLOCKSIZE], "utf-8", "surrogateescape")
    except tarfile.TarError:
        return
    raise _refuse("the file starts with a tar header: torch.load would open it as an archive")


def check_not_polyglot(
    path: Path, format_name: str, others: list[str], checks_own_tail: bool = False
) -> None:
    """`others`: the names of the other formats whose sniffing accepts the file's head;
    `checks_own_tail`: the format's handler judges what follows its data itself (TFLite
    metadata appends a zip of associated files)."""
    if others:
        raise _refuse(
            f"the file looks like a {format_name} model and like {', '.join(others)} at once"
        )
    if format_name == "torchscript":
        return  # an archive itself: its own reader refuses anything before or after it
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(PICKLE_WINDOW)
    if not checks_own_tail:
        check_zip_tail(path, size)
    check_tar_header(head)
    check_pickle_prefix(head, whole_file=size <= len(head))
