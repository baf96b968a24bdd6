"""Format handlers, found through the `modelreg.formats` entry-point group (built-ins included).

A plugin implements registry.formats.base.FormatHandler with what registry.formats.api exports.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterable
from importlib.metadata import entry_points
from pathlib import Path

from registry.errors import ModelregError
from registry.formats.base import PROTOCOL_MEMBERS, FormatHandler, ModelInfo

ENTRY_POINT_GROUP = "modelreg.formats"
HEAD_SIZE = 4096
LFS_POINTER_PREFIX = b"version https://git-lfs.github.com/spec/"

__all__ = [
    "FormatHandler",
    "ModelInfo",
    "article",
    "describe_content",
    "detect",
    "formats_named",
    "handlers",
    "inspect_file",
    "read_head",
]


@functools.cache
def handlers() -> dict[str, FormatHandler]:
    """Every installed handler by name; a broken plugin is an error naming its package."""
    found: dict[str, FormatHandler] = {}
    for entry in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            handler = entry.load()()
        except Exception as exc:
            raise ModelregError(
                f"format plugin {entry.name!r} ({entry.value}) failed to load: {exc}; "
                "reinstall or uninstall the package that provides it"
            ) from exc
        if not isinstance(handler, FormatHandler):
            missing = [m for m in PROTOCOL_MEMBERS if not hasattr(handler, m)]
            raise ModelregError(
                f"format plugin {entry.name!r} ({entry.value}) does not implement FormatHandler"
                + (f": it has no {', '.join(missing)}" if missing else "")
                + "; see registry.formats.api"
            )
        if handler.name in found:
            raise ModelregError(
                f"two format plugins are named {handler.name!r} ({entry.value} and another); "
                "uninstall one of them"
            )
        found[handler.name] = handler
    if not found:
        raise ModelregError(
            "no format handlers are registered; install modelreg itself (pip install -e .) so that "
            f"its `{ENTRY_POINT_GROUP}` entry points exist"
        )
    return found


def formats_named(folders: Iterable[Path]) -> set[str]:
    """The formats whose suffixes name a file in `folders` (their own entries): those a run
    inspecting those folders will ask the sandbox for, in all likelihood. Only a guess, to load
    libraries ahead: the manifest and the file's own bytes decide each format."""
    by_suffix = {s.lower(): h.name for h in handlers().values() for s in h.suffixes}
    found: set[str] = set()
    for folder in folders:
        with contextlib.suppress(OSError):
            found |= {
                by_suffix[path.suffix.lower()]
                for path in folder.iterdir()
                if path.suffix.lower() in by_suffix
            }
        if len(found) == len(set(by_suffix.values())):
            break
    return found


def inspect_file(format_name: str, path: Path, opened: int | None = None) -> ModelInfo:
    """Read `path` with the `format_name` handler, after checking that no other loader would
    open it as its own (registry.formats.polyglot). What the sandbox runs for every file.

    `opened`: a descriptor of the file, opened (and hashed) by the validating process. Every
    read then goes through it (/proc/self/fd/N reopens that very file, whatever `path` names
    by now), and `path` only says where the files beside it are (ONNX external data)."""
    from registry.formats.polyglot import check_not_polyglot

    installed = handlers()
    handler = installed[format_name]
    source = path if opened is None else Path(f"/proc/self/fd/{opened}")
    head = read_head(source)
    others = [h.name for h in installed.values() if h.name != format_name and h.sniff(head)]
    check_not_polyglot(source, format_name, others, getattr(handler, "checks_own_tail", False))
    take_opened = getattr(handler, "inspect_opened", None)
    if opened is None or not callable(take_opened):
        # A plugin without inspect_opened reads the path (the validating process checks that it
        # still names the file it hashed, before and after).
        return handler.inspect(path)
    info: ModelInfo = take_opened(source, path.parent)
    return info


def read_head(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(HEAD_SIZE)


def detect(head: bytes, preferred: str | None = None) -> FormatHandler | None:
    """The handler whose content sniffing accepts these first bytes.

    When several accept them, `preferred` (the format a manifest declares) wins if among them.
    """
    accepting = [h for h in handlers().values() if h.sniff(head)]
    for handler in accepting:
        if handler.name == preferred:
            return handler
    return accepting[0] if accepting else None


def detect_file(path: Path) -> FormatHandler:
    """The handler of a model file given on the command line; a clear error when it is not a
    file, or not a model file of a known format."""
    if not path.is_file():
        raise ModelregError(f"{path}: not a file")
    head = read_head(path)
    handler = detect(head)
    if handler is None:
        known = ", ".join(sorted(article(h.title) for h in handlers().values()))
        raise ModelregError(
            f"{path}: format.unrecognized: not a model file of a known format "
            f"({describe_content(head)}); modelreg reads {known}"
        )
    return handler


def article(title: str) -> str:
    """`an ONNX model`, `a TFLite model`."""
    return f"{'an' if title[:1].upper() in 'AEIOU' else 'a'} {title}"


def describe_content(head: bytes) -> str:
    """What a file that no handler recognizes looks like, for the error message."""
    if not head:
        return "empty file"
    if head.startswith(LFS_POINTER_PREFIX):
        return "Git LFS pointer"
    if head[0] == 0x80 and len(head) > 1 and 2 <= head[1] <= 5:
        return "legacy torch.save pickle" if head[1] == 2 or b"torch" in head else "pickle"
    if head.startswith(b"PK\x03\x04"):
        return "zip archive"
    if head.lstrip()[:15].lower().startswith((b"<!doctype", b"<html")):
        return "HTML page"
    if head.startswith(b"\x89HDF"):
        return "HDF5 file"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "unrecognized binary content"
    return "text file"
