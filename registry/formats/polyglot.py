"""A model file must be one format only: no other loader may open it as its own.

Consumers load what they fetch with whatever loader they use, often by file name, often with
torch. `torch.jit.load` and `torch.load` find a zip archive by its end record near the end of any
file; `torch.load(weights_only=False)` unpickles a file from its first byte, and tries a tar
archive first. So an ONNX or TFLite file that also holds a zip, starts with a pickle or parses as
a tar header runs code on a consumer who loads it with torch. Each is `security.polyglot`.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

from registry.errors import FormatError
from registry.formats.pickle_scan import scan_prefix
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


def check_pickle_prefix(head: bytes) -> None:
    """Refuse a file whose first bytes torch.load's legacy unpickler would act on: a pickle that
    imports anything (an import alone can run code) before it fails, or pickles that go on for
    longer than a model file's first bytes ever do. torch.load reads several pickles in a row:
    each STOP starts the next. Unpickled with the scanner's symbolic stack, so a file that only
    looks like an opcode (\\x93NUMPY) is not mistaken for one that acts."""
    position = 0
    while position < len(head):
        summary = scan_prefix(head[position:])
        if summary.globals:
            imported = summary.globals[0]
            raise _refuse(
                f"the file starts with a pickle that imports {imported.qualified}: "
                "torch.load(weights_only=False) would run it"
            )
        if summary.end is None:
            return
        position += summary.end
    if len(head) >= PICKLE_WINDOW:
        raise _refuse(
            f"the first {PICKLE_WINDOW} bytes of the file parse as pickles: torch.load would "
            "unpickle it"
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
    check_pickle_prefix(head)
