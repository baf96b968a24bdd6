"""The manifest reference page of the docs, generated from the newest manifest JSON Schema:
fields grouped by section, one table each, constraints in words."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from registry.infra.schemafiles import load_schema
from registry.versions import LATEST_SCHEMA_VERSION

# The reference page's sections: a heading, what it is about, and the top-level fields it holds
# (each with every field under it). A field of the schema in no section is listed under "Other".
MANIFEST_SECTIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "Identity",
        "Which model and version the manifest describes.",
        ("schema_version", "model_name", "version"),
    ),
    (
        "Model file",
        "The file that is published, and the interface it must have.",
        ("format", "framework", "artifact", "input_shape", "output_schema"),
    ),
    (
        "Description",
        "What the model is, what it is for, and under which license.",
        ("description", "intended_use", "tags", "license"),
    ),
    ("People", "Who publishes the version and who built it.", ("publisher", "authors")),
    (
        "Lineage and data",
        "Where the model came from, what it was trained and measured on, and how it performs.",
        ("lineage", "metrics", "quantization_profile"),
    ),
    (
        "Model card",
        "What a reader needs to judge the model beyond its interface.",
        ("model_card",),
    ),
    (
        "Governance",
        "The risk tier, the reviews it requires, and the version's lifecycle.",
        ("risk_tier", "governance", "status", "deprecation"),
    ),
    (
        "Compatibility",
        "What the model runs with and what it was built with.",
        ("compatibility_matrix", "dependencies", "exported_at"),
    ),
)


OTHER_SECTION = "Other"


_TABLE_HEAD = ("| Field | Type | Required | Description | Example |", "|---|---|---|---|---|")


_KINDS = {"array": "list"}


_FORMATS = {"email": "email address", "date-time": "RFC 3339 date-time"}


# Patterns the field's own description already says in words (shown on the page only through
# it), or that read better as a sentence. Any other pattern is shown as it is.
_PATTERN_WORDS: dict[str, str | None] = {
    "^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$": None,
    "^[a-z0-9][a-z0-9._-]{0,49}$": None,
    "^[0-9a-f]{7,64}$": None,
    "^sha256:[0-9a-f]{64}$": None,
    r"^[^\u0000-\u001f\u007f-\u009f\u2028\u2029]+$(?![\s\S])": None,
    "^[a-z][a-z0-9_-]*$": "Lowercase letters, digits, `_` and `-`, starting with a letter.",
    "^pkg:[a-z0-9.+-]+/": "Starts with `pkg:`, a package type and `/`.",
    "^[A-Za-z0-9][A-Za-z0-9._-]*$": (
        "Letters, digits, `.`, `_` and `-`, starting with a letter or digit."
    ),
}


_LITERAL = re.compile(r"[A-Za-z0-9_-]+")


def _code(text: str) -> str:
    """Inline code that stays one table cell and shows `text` exactly, in Python-Markdown (what
    MkDocs renders with) as in CommonMark/GFM. A backtick span when `text` has no pipe or
    backtick; otherwise (the two renderers disagree on `\\|` inside a span) a <code> element
    whose punctuation is written as character references, which neither splits nor reads as
    Markdown."""
    if "|" not in text and "`" not in text and text.strip() == text and text:
        return f"`{text}`"
    escaped = "".join(c if c.isalnum() or c == " " else f"&#{ord(c)};" for c in text)
    return f"<code>{escaped}</code>"


def _text(markdown: str) -> str:
    """A description's Markdown as one table cell: code spans kept, pipes escaped once, and a
    `<` outside them written as a character reference (not read as raw HTML)."""
    parts = re.split(r"(`[^`\n]+`)", markdown.replace("\n", " ").strip())
    return "".join(
        _code(part[1:-1]) if index % 2 else part.replace("<", "&lt;").replace("|", "\\|")
        for index, part in enumerate(parts)
    )


def _value(value: Any) -> str:
    """A value in JSON flow form, which YAML reads as well."""
    return json.dumps(value, ensure_ascii=False)


def _word(value: Any) -> str:
    """A value in a sentence: strings as they are, anything else in JSON."""
    return _code(value if isinstance(value, str) else _value(value))


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """The schema over its `$ref` target of `$defs`: its own keys win (a description, examples);
    the target's title says which named type it is."""
    ref = schema.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/$defs/"):
        return schema
    target = _resolve(defs.get(ref.removeprefix("#/$defs/"), {}), defs)
    own = {k: v for k, v in schema.items() if k != "$ref"}
    return {**target, **own, "$ref": ref}


def _kinds(schema: dict[str, Any]) -> list[str]:
    kind = schema.get("type")
    if isinstance(kind, list):
        return [str(k) for k in kind]
    if isinstance(kind, str):
        return [kind]
    values = [schema["const"]] if "const" in schema else schema.get("enum", [])
    names = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array"}
    kinds = (names.get(type(v), "null" if v is None else "object") for v in values)
    return list(dict.fromkeys(kinds))


def _lower(title: str) -> str:
    """A title inside a sentence: `Version reference` -> `version reference`, `SemVer` kept."""
    return title[0].lower() + title[1:] if title.split()[0][1:].islower() else title


def _join(words: list[str]) -> str:
    """`a`, `a or b`, `a, b or c`; `a, or b` when a word is itself a list of choices."""
    if len(words) == 1:
        return words[0]
    last = ", or " if any(" or " in word or ", " in word for word in words) else " or "
    return f"{', '.join(words[:-1])}{last}{words[-1]}"


def _noun(schema: dict[str, Any], defs: dict[str, Any], plural: bool = False) -> str:
    """The type in words: `non-empty list of tensors`, `string (email address)`."""
    schema = _resolve(schema, defs)
    title = schema.get("title")
    words = []
    for kind in _kinds(schema):
        before, after = "", ""
        noun = _KINDS.get(kind, kind)
        if kind == "string":
            low, high = schema.get("minLength", 0), schema.get("maxLength")
            before = "non-empty " if low == 1 else ""
            if low > 1:
                after = f" of at least {low} characters"
            if high is not None:
                after += f"{' and' if after else ' of'} at most {high} characters"
            if schema.get("format"):
                after += f" ({_FORMATS.get(schema['format'], schema['format'])})"
            if isinstance(title, str):
                after += f" ({_lower(title)})"
        elif kind in ("integer", "number") and "minimum" in schema:
            after = f" ≥ {schema['minimum']}"
        elif kind == "object" and isinstance(title, str):
            noun = title.lower()
        elif kind == "object" and isinstance(schema.get("additionalProperties"), dict):
            noun = "map"
            after = f" of names to {_noun(schema['additionalProperties'], defs, plural=True)}"
        elif kind == "array":
            low = schema.get("minItems", 0)
            before = "non-empty " if low == 1 else ""
            if low > 1:
                after = f" of at least {low} items"
            if isinstance(schema.get("items"), dict):
                after += f" of {_noun(schema['items'], defs, plural=True)}"
        words.append(f"{before}{noun}{'s' if plural else ''}{after}")
    return _join(words) if words else "any value"


def _alternatives(pattern: str) -> list[str] | None:
    """The alternatives of a pattern `^(a|b|...)$`, or None."""
    match = re.fullmatch(r"\^\((.*)\)\$", pattern)
    if match is None:
        return None
    body, parts, depth, start, in_class, index = match[1], [], 0, 0, False, 0
    while index < len(body):
        char = body[index]
        if char == "\\":
            index += 1
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                return None
        elif char == "|" and depth == 0:
            parts.append(body[start:index])
            start = index + 1
        index += 1
    parts.append(body[start:])
    return parts if len(parts) > 1 else None


def _pattern(pattern: str) -> str | None:
    """A pattern as a sentence a person can use, or None when the description says it."""
    if pattern in _PATTERN_WORDS:
        return _PATTERN_WORDS[pattern]
    if prefix := re.fullmatch(r"\^([\w:/-]+)", pattern):
        return f"Starts with {_code(prefix[1])}."
    if prefix := re.fullmatch(r"\^([\w:/-]*?)(\w)\?([\w:/-]*)", pattern):
        short, long = prefix[1] + prefix[3], prefix[1] + prefix[2] + prefix[3]
        return f"Starts with {_code(short)} or {_code(long)}."
    alternatives = _alternatives(pattern)
    if alternatives is not None and any(_LITERAL.fullmatch(a) for a in alternatives):
        words = [_code(a) for a in alternatives if _LITERAL.fullmatch(a)]
        others = [_code(a) for a in alternatives if not _LITERAL.fullmatch(a)]
        tail = f", or a value matching {' or '.join(others)}" if others else ""
        return f"One of {', '.join(words)}{tail}."
    return f"Pattern: {_code(pattern)}."


def _constraints(schema: dict[str, Any], defs: dict[str, Any]) -> list[str]:
    """What the schema requires of a value, in sentences (lengths and bounds are in the type)."""
    notes = []
    if "const" in schema:
        notes.append(f"Always {_word(schema['const'])}.")
    if "enum" in schema:
        notes.append(f"One of {', '.join(_word(v) for v in schema['enum'])}.")
    if "default" in schema:
        notes.append(f"Default: {_word(schema['default'])}.")
    # A named type's pattern is what its name and description say.
    if "pattern" in schema and "$ref" not in schema and (said := _pattern(schema["pattern"])):
        notes.append(said)
    items = _resolve(schema.get("items", {}), defs) if isinstance(schema.get("items"), dict) else {}
    if "pattern" in items and "$ref" not in items and (said := _pattern(items["pattern"])):
        notes.append(f"Each item: {said[0].lower()}{said[1:]}")
    names = schema.get("propertyNames", {})
    if isinstance(names, dict) and "pattern" in names and (said := _pattern(names["pattern"])):
        notes.append(f"Names: {said[0].lower()}{said[1:]}")
    if schema.get("uniqueItems"):
        notes.append("No duplicates.")
    return notes


def _conditions(schema: dict[str, Any]) -> dict[str, str]:
    """Fields an `if`/`then` of the schema's `allOf` requires: name -> when."""
    when: dict[str, str] = {}
    for rule in schema.get("allOf", []):
        condition = rule.get("if", {}).get("properties", {})
        tests = [
            f"{_code(name)} is {_word(test['const'])}"
            for name, test in condition.items()
            if isinstance(test, dict) and "const" in test
        ]
        for name in rule.get("then", {}).get("required", []) if tests else []:
            when.setdefault(name, f"if {' and '.join(tests)}")
    return when


def _fields(
    schema: dict[str, Any], defs: dict[str, Any], prefix: str, names: Iterable[str] | None = None
) -> Iterator[tuple[str, dict[str, Any], str]]:
    """(dotted path, schema, required) of each property of `schema` (of `names` only, in that
    order, when given) and, depth first, of every property under it."""
    properties = schema.get("properties", {})
    required, conditional = set(schema.get("required", [])), _conditions(schema)
    for name in properties if names is None else names:
        field = _resolve(properties[name], defs)
        path = f"{prefix}{name}"
        yield path, field, "yes" if name in required else conditional.get(name, "no")
        yield from _nested(field, defs, path)


def _nested(
    schema: dict[str, Any], defs: dict[str, Any], path: str
) -> Iterator[tuple[str, dict[str, Any], str]]:
    if isinstance(schema.get("properties"), dict):
        yield from _fields(schema, defs, f"{path}.")
    if isinstance(schema.get("items"), dict):
        yield from _nested(_resolve(schema["items"], defs), defs, f"{path}[]")


def _row(path: str, field: dict[str, Any], required: str, defs: dict[str, Any]) -> str:
    description = " ".join(
        [_text(field.get("description", "")), *_constraints(field, defs)]
    ).strip()
    examples = ", ".join(_code(_value(e)) for e in field.get("examples", []))
    return f"| {_code(path)} | {_noun(field, defs)} | {required} | {description} | {examples} |"


def _table(rows: Iterable[tuple[str, dict[str, Any], str]], defs: dict[str, Any]) -> list[str]:
    return [*_TABLE_HEAD, *(_row(path, field, need, defs) for path, field, need in rows)]


def reference_page(schema: dict[str, Any], source: str) -> str:
    """The manifest reference of `schema` (read from `source`): one section per group of
    fields, each a table; a field of no section is listed under "Other", never left out."""
    defs = schema.get("$defs", {})
    properties = schema.get("properties", {})
    lines = [
        "# Manifest reference",
        "",
        "Each version of a model is described by `models/<model_name>/<version>/manifest.yaml`. "
        f"This page is generated from `{source}` (JSON Schema draft 2020-12); editors that read "
        "JSON Schema show the same descriptions. Schema 1.1 added `quantization_profile`, and 1.2 "
        "added `model_card` and the datasets' `role`.",
        "",
        "In the tables, **Field** is the path of a field: `a.b` is `b` inside `a`, and `a[].b` is "
        "`b` in each item of the list `a`. **Required** says whether the field must be present "
        "when the object that holds it is. **Example** values are written in JSON, which YAML "
        "reads as well.",
    ]
    placed: set[str] = set()
    sections = [
        (title, about, [name for name in names if name in properties])
        for title, about, names in MANIFEST_SECTIONS
    ]
    for _, _, names in sections:
        placed.update(names)
    others = [name for name in properties if name not in placed]
    if others:
        sections.append((OTHER_SECTION, "Fields of the schema not described above.", others))
    for title, about, names in sections:
        if names:
            rows = _fields(schema, defs, "", names)
            lines += ["", f"## {title}", "", about, "", *_table(rows, defs)]
    return "\n".join(lines) + "\n"


def manifest_reference() -> str:
    """Every manifest field of the latest schema, as Markdown tables grouped by section."""
    source = f"schema/manifest/{LATEST_SCHEMA_VERSION}.json"
    return reference_page(load_schema(f"manifest/{LATEST_SCHEMA_VERSION}.json"), source)
