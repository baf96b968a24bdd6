"""Text from a submission, made safe for where it is shown.

Manifests and reports refuse control characters and the invisible ones that reorder or hide text
(bidi overrides, zero-width characters): `yaml.control-character`. Messages still carry what
authors wrote (a path, a name), so every reporter escapes for its medium: one finding per line
in plain text, workflow-command encoding for annotations, Markdown and HTML escaped in the step
summary, characters XML forbids replaced in the feed.
"""

from __future__ import annotations

import re
import unicodedata

# C0 but tab and newline, DEL, C1, and the format characters that reorder or hide text.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e"
    "\u2028\u2029\u2060-\u2064\u2066-\u2069\ufeff]"
)
_CONTROL_OR_NEWLINE = re.compile(f"[\n\t]|{_UNSAFE.pattern}")
# What XML 1.0 does not allow in a document at all.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def first_unsafe(text: str) -> str | None:
    """The first control or invisible character of `text` (tab and newline allowed)."""
    found = _UNSAFE.search(text)
    return found.group() if found else None


def describe(character: str) -> str:
    name = unicodedata.name(character, "a control character")
    return f"U+{ord(character):04X} ({name.lower()})"


def one_line(text: str) -> str:
    """`text` on one line with nothing hidden: newlines, tabs and unsafe characters escaped."""
    return _CONTROL_OR_NEWLINE.sub(_escape, text)


def _escape(found: re.Match[str]) -> str:
    character = found.group()
    return {"\n": "\\n", "\t": "\\t"}.get(character, f"\\u{ord(character):04x}")


def markdown_code(text: str) -> str:
    """`text` as a code span of a Markdown table cell: no link (not even an autolinked URL),
    image, emphasis or HTML; a fence longer than any backtick run inside; pipes escaped (GFM
    splits cells before it reads code spans)."""
    inner = one_line(text).replace("|", "\\|")
    fence = "`" * (max((len(run) for run in re.findall("`+", inner)), default=0) + 1)
    pad = " " if inner.startswith("`") or inner.endswith("`") else ""
    return f"{fence}{pad}{inner}{pad}{fence}"


def xml_text(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)
