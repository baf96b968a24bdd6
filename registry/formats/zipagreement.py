"""A second and a third opinion on a zip archive: Python's zipfile and torch's own reader.

The strict reader (zipstrict) accepts only a layout every reader agrees on; these checks make sure
of it on the very file being judged. Python's zipfile must list the same entries with the same
sizes, CRCs and header offsets; torch's reader (`torch._C.PyTorchFileReader`, miniz, what
`torch.jit.load` uses), when torch is installed, must list the same records and find each one's
data at the same offset. Any difference is `security.zip-ambiguous`.
"""

from __future__ import annotations

import itertools
import zipfile
from collections.abc import Sequence
from pathlib import Path

from registry.errors import FormatError
from registry.formats.zipstrict import AMBIGUOUS, StrictZip, unreadable

_ZIPFILE_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, ValueError)


def _disagree(reader: str, detail: str) -> FormatError:
    return FormatError(AMBIGUOUS, f"{reader} reads this archive differently: {detail}")


def zipfile_agrees(path: Path, archive: StrictZip) -> None:
    ours = [(e.name, e.size, e.compressed_size, e.crc32, e.header_offset) for e in archive.entries]
    try:
        with zipfile.ZipFile(path) as reader:
            theirs = [
                (i.filename, i.file_size, i.compress_size, i.CRC, i.header_offset)
                for i in reader.infolist()
            ]
    except OSError as exc:  # reading the file, not judging it
        raise unreadable(exc) from None
    except _ZIPFILE_ERRORS as exc:
        raise _disagree("Python's zipfile", f"it refuses the file ({exc})") from None
    if theirs != ours:
        raise _disagree("Python's zipfile", _first_difference(ours, theirs))


def torch_agrees(path: Path, archive: StrictZip, root: str) -> None:
    """Without torch installed there is no third opinion: the strict reader decides alone."""
    try:
        import torch
    except ImportError:
        return
    try:
        reader = torch._C.PyTorchFileReader(str(path))
        records = list(reader.get_all_records())
        offsets = [int(reader.get_record_offset(r)) for r in records]  # type: ignore[attr-defined]
    except RuntimeError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FormatError(
            "format.invalid", f"torch's own archive reader refuses the file ({reason:.300})"
        ) from None
    ours = [(e.name.removeprefix(f"{root}/"), e.data_offset) for e in archive.entries]
    theirs = list(zip(records, offsets, strict=True))
    if theirs != ours:
        raise _disagree("torch's own reader", _first_difference(ours, theirs))


def _first_difference(ours: Sequence[object], theirs: Sequence[object]) -> str:
    for mine, other in itertools.zip_longest(ours, theirs):
        if mine != other:
            return f"{other} where the strict reader has {mine}"
    return "the same entries in another order"
