"""The data of a YAML mapping, as `load_yaml_bytes` reads it, quickly for the common shape.

Reading Git history parses the same manifests again and again: one edit changes a line or two,
and every other line is one the loader has read before. A document whose every top-level entry
starts a line at column 0 (the shape of every manifest `modelreg` writes, and of nearly every one
written by hand or by PyYAML) is cut into its entries, each with the indented, comment, blank and
`- ` lines after it, and each entry is read by the safe loader itself, alone, and remembered by
its text. So this path accepts nothing the loader would refuse and reads no value differently:
every character of the document still goes through `load_yaml_text`, only in pieces. Anything
else (other line starts, line breaks other than `\\n`, duplicate top-level keys, an entry the
loader refuses on its own) is read whole by `load_yaml_bytes`, which decides.

Why the pieces read as the whole does (libyaml, block context): an entry line begins at column 0
with a letter, digit or `_`, so it is a plain key of the top-level block mapping (indent 0), and
at column 0 every construct of the entry before it has ended, or the entry read alone would not
have parsed: a block scalar's or a plain scalar's continuation lines are indented at least once, a
sequence at column 0 (`key:` then `- item` lines) ends at the first line that is not an entry of
it, a quoted scalar or a flow collection left open is an error at the end of the entry. No line
of the document may start with `.`, `%`, `?`, `:`, `[`, `{`, a quote, a tab, `-` but for `- ` or
a lone `-`, or any other character but a key character, a space or `#`, so no document marker
(`---`), directive, second document, complex key or key starting with `-` can hide between
entries. tests/test_events_fast.py and tests/test_events_yaml_fuzz.py compare both paths on a
corpus of tricky documents, on generated ones and on mutated manifests.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from registry.load.yamlsafe import DEFAULT_MAX_BYTES, load_yaml_bytes, load_yaml_text

_KEY_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
# A line that starts with anything but a key character (an entry of its own) ...
_NOT_ENTRY = re.compile(r"\n[^A-Za-z0-9_]")
# ... or anything but a key character, a space, `#` or a block sequence entry at column 0 (`- `
# or a lone `-`: the value of the entry above, as PyYAML writes lists), or is empty.
_OTHER_START = re.compile(r"\n(?:[^A-Za-z0-9_ #\n-]|-[^ \n])")
# Where an entry starts: after a `\n`, a key character.
_ENTRY = re.compile(r"\n(?=[A-Za-z0-9_])")
# Line breaks libyaml knows besides `\n` (so a line may start where `\n` does not show it), and a
# byte order mark inside the text.
_OTHER_BREAK = re.compile("[\r\x85\u2028\u2029\ufeff]")
# Before the first entry: comment and empty lines only.
_PREAMBLE = re.compile(r"(?:#[^\n]*)?(?:\n(?:#[^\n]*)?)*")

_UNDECIDED: Any = object()
# An entry the loader refuses read alone (the whole document decides): a key no YAML text can
# be, so one look in the mapping built finds it.
_REFUSED_KEY: Any = object()
_REFUSED = (_REFUSED_KEY, None)
_MAX_CHARS = 4_000_000  # remembered text; the memory is forgotten past it
_MAX_ENTRY_CHARS = 4096  # longer entries are read, not remembered


class EntryCache:
    """Top-level entries already read, by their text: (key, value), or refused."""

    def __init__(self) -> None:
        self.pieces: dict[str, Any] = {}  # by the exact text of the entry
        self.lines: dict[str, Any] = {}  # one-line entries, by the line without its `\n`
        self.chars = 0

    def _read(self, text: str, remember: dict[str, Any], key: str) -> Any:
        loaded, _ = load_yaml_text(text, "entry")
        found = (
            next(iter(loaded.data.items()))
            if loaded is not None and len(loaded.data) == 1
            else _REFUSED
        )
        if len(text) <= _MAX_ENTRY_CHARS:
            if self.chars + len(text) > _MAX_CHARS:
                self.pieces.clear()
                self.lines.clear()
                self.chars = 0
            remember[key] = found
            self.chars += len(text)
        return found

    def piece(self, text: str) -> Any:
        found = self.pieces.get(text)
        return found if found is not None else self._read(text, self.pieces, text)

    def line(self, line: str) -> Any:
        found = self.lines.get(line)
        return found if found is not None else self._read(f"{line}\n", self.lines, line)


_SHARED = EntryCache()


def _fresh(value: Any) -> Any:
    """A copy of the containers of `value` (the remembered one must not be shared)."""
    kind = type(value)
    if kind is dict:
        return {key: _fresh(item) for key, item in value.items()}
    if kind is list:
        return [_fresh(item) for item in value]
    return value  # str, int, float, bool, None: immutable


def _entries(text: str, cache: EntryCache) -> list[Any] | None:
    """The top-level entries of `text` read one by one, or None when it is not in the shape
    this path reads."""
    if not (text.isascii() and "\r" not in text) and _OTHER_BREAK.search(text):
        return None
    if not text or (text[0] not in _KEY_START and text[0] not in " #\n"):
        return None
    if text[0] in _KEY_START and text[-1] == "\n" and not _NOT_ENTRY.search(text):
        # Each line an entry: the common case, read by the line.
        lines = text.split("\n")
        lines.pop()  # the empty string after the last `\n`
        entries = list(map(cache.lines.get, lines))
        if None in entries:
            entries = [cache.line(line) for line in lines]
        return entries
    if _OTHER_START.search(text):
        return None
    starts = [0] + [found.end() for found in _ENTRY.finditer(text)]
    if text[0] not in _KEY_START:  # a preamble of comments, read with the first entry
        if len(starts) < 2 or not _PREAMBLE.fullmatch(text, 0, starts[1]):
            return None
        del starts[1]
    starts.append(len(text))
    return [cache.piece(text[begin:end]) for begin, end in itertools.pairwise(starts)]


def _by_entries(raw: bytes, max_bytes: int, cache: EntryCache, shared: bool) -> Any:
    """The document's data, or _UNDECIDED when it is not in the shape this path reads."""
    if len(raw) > max_bytes:
        return _UNDECIDED
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return _UNDECIDED
    entries = _entries(text.removeprefix("\ufeff"), cache)
    if entries is None:
        return _UNDECIDED
    data = dict(entries)
    if len(data) != len(entries) or _REFUSED_KEY in data:  # a duplicate key, a refused entry
        return _UNDECIDED
    if not shared:
        data = {key: _fresh(value) for key, value in data.items()}
    return data


def load_yaml_data(
    raw: bytes,
    max_bytes: int = DEFAULT_MAX_BYTES,
    cache: EntryCache | None = None,
    shared: bool = False,
) -> dict[str, Any] | None:
    """What `load_yaml_bytes(raw, …)` reads as data, or None where it refuses the document.

    `cache`: the entries read before (a module-wide one by default). `shared`: the lists and
    mappings inside the result may be the very ones of other results read through the same
    cache, saving their copy: for a caller that never changes them.
    """
    data = _by_entries(raw, max_bytes, _SHARED if cache is None else cache, shared)
    if data is not _UNDECIDED:
        return data  # type: ignore[no-any-return]
    loaded, _ = load_yaml_bytes(raw, "yaml", max_bytes)
    return loaded.data if loaded is not None else None
