"""The Markdown body of a model card cut into its sections (headings outside code blocks and
comments), each with its text, and which of them were read: what registry.authoring.modelcard
maps to manifest fields, section by section.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

# What the card template leaves in a section nobody filled: read as no text.
PLACEHOLDERS = frozenset({"[more information needed]", "more information needed", "n/a", "tbd"})
_COMMENT = re.compile(r"<!--[\s\S]*?(-->|$)")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")

# Section titles read into a field: a card whose first heading is one of them has no title.
_SECTION_KEYS = frozenset(
    {
        "uses",
        "direct use",
        "intended use",
        "intended uses",
        "out of scope use",
        "out of scope uses",
        "bias risks and limitations",
        "limitations",
        "training details",
        "training procedure",
        "training hyperparameters",
        "environmental impact",
        "evaluation",
        "model details",
        "model description",
    }
)


@dataclass
class Section:
    """A heading of the body and the text under it."""

    level: int
    title: str
    key: str  # the title in lower case, words only: "Out-of-Scope Use" -> "out of scope use"
    own: str  # up to the next heading
    full: str  # up to the next heading of the same or a higher level: subsections included
    end: int  # index of the first section after its subsections


@dataclass
class Body:
    """The text before the first heading, the sections, and which of them have been read."""

    intro: str
    sections: list[Section]
    title: int | None  # the index of the card's title (a first `#` heading), if any
    used: set[int] = field(default_factory=set)

    def find(self, *keys: str) -> int | None:
        for key in keys:
            for index, section in enumerate(self.sections):
                if section.key == key and index not in self.used:
                    return index
        return None

    def matching(self, test: Callable[[str], bool]) -> int | None:
        for index, section in enumerate(self.sections):
            if test(section.key) and index not in self.used:
                return index
        return None

    def take(self, index: int, whole: bool = True) -> str:
        """A section's text; `whole`: with its subsections, which count as read too."""
        section = self.sections[index]
        self.used.update(range(index, section.end) if whole else (index,))
        return section.full if whole else section.own


def _key(title: str) -> str:
    text = title.lower().replace("[optional]", " ").replace("&", " and ")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def _clean(text: str) -> str:
    """Text without the template's placeholders, and without surrounding blank lines."""
    lines = [line for line in text.splitlines() if line.strip().lower() not in PLACEHOLDERS]
    return "\n".join(lines).strip("\n").rstrip()


def _closes(fence: str, marker: str, line: str) -> bool:
    """Whether `line` (starting with `marker`) closes a code block opened by `fence`."""
    return marker[0] == fence[0] and len(marker) >= len(fence) and not line.strip().strip(fence[0])


def _heading(line: str) -> tuple[int, str] | None:
    """(level, title) of an ATX heading (`## Title ##`), read once left to right: a regex with a
    lazy title before optional closing `#`s rescans long runs of blanks (quadratic time)."""
    body = line.lstrip(" ")
    if len(line) - len(body) > 3:
        return None
    level = len(body) - len(body.lstrip("#"))
    rest = body[level:]
    if not 1 <= level <= 6 or (rest and rest[0] not in " \t"):
        return None
    title = rest.strip(" \t")
    closing = title.rstrip("#")
    if closing != title and (not closing or closing[-1] in " \t"):
        title = closing.rstrip(" \t")
    return level, title


def parse_body(body: str) -> Body:
    """The sections of a card's Markdown body, none of them read yet."""
    lines = _COMMENT.sub("", body).splitlines()
    heads: list[tuple[int, int, str]] = []  # (line, level, title)
    fence: str | None = None
    for number, line in enumerate(lines):
        opening = _FENCE.match(line)
        if fence is not None:  # inside a code block: a closing fence ends it, nothing else
            if opening and _closes(fence, opening.group(1), line):
                fence = None
            continue
        if opening:
            fence = opening.group(1)
            continue
        heading = _heading(line)
        if heading:
            heads.append((number, *heading))
    sections = []
    for index, (number, level, title) in enumerate(heads):
        own_end = heads[index + 1][0] if index + 1 < len(heads) else len(lines)
        end = next((i for i in range(index + 1, len(heads)) if heads[i][1] <= level), len(heads))
        full_end = heads[end][0] if end < len(heads) else len(lines)
        sections.append(
            Section(
                level=level,
                title=title,
                key=_key(title),
                own=_clean("\n".join(lines[number + 1 : own_end])),
                full=_clean("\n".join(lines[number + 1 : full_end])),
                end=end,
            )
        )
    intro = _clean("\n".join(lines[: heads[0][0] if heads else len(lines)]))
    # A first `#` heading is the card's title, unless it is one of the sections read.
    first = sections[0] if sections else None
    named = 0 if first and first.level == 1 and first.key not in _SECTION_KEYS else None
    return Body(intro, sections, named)
