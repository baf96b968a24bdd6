"""The generated manifest reference page (docs/reference/manifest.md of the MkDocs site)."""

from __future__ import annotations

import copy
import html
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from markdown_it import MarkdownIt

from registry.build.site.reference import manifest_reference, reference_page
from registry.infra.schemadir import schema_dir
from registry.versions import LATEST_SCHEMA_VERSION

# The sections the page must have, and the top-level fields each holds (issue 15).
SECTIONS = {
    "Identity": ["schema_version", "model_name", "version"],
    "Model file": ["format", "framework", "artifact", "input_shape", "output_schema"],
    "Description": ["description", "intended_use", "tags", "license"],
    "People": ["publisher", "authors"],
    "Lineage and data": ["lineage", "metrics", "quantization_profile"],
    "Model card": ["model_card"],
    "Governance": ["risk_tier", "governance", "status", "deprecation"],
    "Compatibility": ["compatibility_matrix", "dependencies", "exported_at"],
}
DTYPE_COMPOSITE = "(sequence|map|optional|sparse)<[a-z0-9_<>,]+>"


def _latest() -> dict[str, Any]:
    path = schema_dir() / f"manifest/{LATEST_SCHEMA_VERSION}.json"
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def _resolve(field: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ref = field.get("$ref", "")
    return {**defs[ref.rsplit("/", 1)[-1]], **field} if ref.startswith("#/$defs/") else field


def _paths(schema: dict[str, Any], defs: dict[str, Any], prefix: str = "") -> Iterator[str]:
    """Every property path of a manifest: `a.b` inside objects, `a[].b` inside list items."""
    for name, field in schema.get("properties", {}).items():
        field = _resolve(field, defs)
        yield f"{prefix}{name}"
        yield from _paths(field, defs, f"{prefix}{name}.")
        items = field.get("items")
        while isinstance(items, dict):
            items = _resolve(items, defs)
            yield from _paths(items, defs, f"{prefix}{name}[].")
            items = items.get("items")


def _tables(page: str) -> dict[str, list[list[str]]]:
    """Section heading -> the rows of its table, each a list of its cells' inline Markdown, as
    a CommonMark parser with GFM tables splits them."""
    tokens = MarkdownIt("commonmark").enable("table").parse(page)
    sections: dict[str, list[list[str]]] = {}
    heading = ""
    row: list[str] | None = None
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag == "h2":
            heading = tokens[index + 1].content
            sections[heading] = []
        elif token.type == "tr_open":
            row = []
        elif token.type == "td_open" and row is not None:
            row.append(tokens[index + 1].content)
        elif token.type == "tr_close":
            if row:
                sections[heading].append(row)
            row = None
    return sections


def _field(cell: str) -> str:
    match = re.fullmatch(r"`([^`]+)`", cell)
    assert match, cell
    return match[1]


def _rendered(cell: str) -> str:
    """A cell's text as a browser shows it."""
    inline = MarkdownIt("commonmark").renderInline(cell)
    return html.unescape(re.sub(r"<[^>]+>", "", inline))


@pytest.fixture(scope="module")
def page() -> str:
    return manifest_reference()


def test_every_property_path_is_on_the_page(page: str) -> None:
    schema = _latest()
    paths = list(_paths(schema, schema["$defs"]))
    assert "lineage.datasets[].role" in paths and "model_card.fairness[].harms" in paths
    assert "artifact.external_data[].url" in paths and "input_shape[].dtype" in paths
    rows = [row for rows in _tables(page).values() for row in rows]
    assert all(len(row) == 5 for row in rows), [row for row in rows if len(row) != 5]
    fields = [_field(row[0]) for row in rows]
    assert sorted(fields) == sorted(paths)  # each once, nothing extra
    for row in rows:
        assert row[1] and row[2] and row[3] and row[4], row  # type, required, text, example


def test_sections_hold_their_fields(page: str) -> None:
    tables = _tables(page)
    assert list(tables) == list(SECTIONS)  # no "Other": every field has its section
    for title, names in SECTIONS.items():
        assert f"\n## {title}\n" in page
        tops = [re.split(r"[.\[]", _field(row[0]))[0] for row in tables[title]]
        assert list(dict.fromkeys(tops)) == names, title


def test_no_double_escapes_and_no_repeated_length_sentence(page: str) -> None:
    assert "\\\\|" not in page
    assert "at least 1 characters" not in page
    assert "minLength" not in page


def test_constraints_in_words(page: str) -> None:
    rows = {_field(row[0]): row for rows in _tables(page).values() for row in rows}
    role = rows["lineage.datasets[].role"]
    assert "One of `training`, `fine-tuning`, `validation`, `evaluation`." in role[3]
    assert role[2] == "yes"
    assert rows["license"][1] == "non-empty string"
    assert rows["intended_use"][1] == "string of at least 20 characters"
    assert rows["deprecation"][2] == "if `status` is `deprecated`"
    assert rows["artifact.url"][3].endswith("Starts with `https://`.")
    assert rows["input_shape"][1] == "list of tensors"
    assert rows["version"][1] == "string (SemVer version)"
    # Long regexes said in words elsewhere are not shown.
    assert "\\d*" not in rows["version"][3] and "{64}" not in rows["artifact.sha256"][3]
    assert rows["schema_version"][4] == '`"1.2"`'  # examples in JSON flow form
    assert rows["framework"][4] == '`{"name": "pytorch", "version": "2.5.1"}`'


def test_a_regex_with_pipes_stays_one_cell(page: str) -> None:
    rows = {_field(row[0]): row for rows in _tables(page).values() for row in rows}
    dtype = rows["input_shape[].dtype"]
    assert len(dtype) == 5
    assert DTYPE_COMPOSITE in _rendered(dtype[3])
    assert "`float16`" in dtype[3] and "`variant`" in dtype[3]


def test_python_markdown_renders_the_same_cells(page: str) -> None:
    """MkDocs renders with Python-Markdown, which reads pipes in code spans differently from
    CommonMark: the page must come out right in both."""
    markdown = pytest.importorskip("markdown")
    rendered = markdown.Markdown(extensions=["toc", "tables", "fenced_code"]).convert(page)
    rows = re.findall(r"<tr>(.*?)</tr>", rendered, re.DOTALL)
    assert rows and all(len(re.findall(r"<t[dh][ >]", row)) == 5 for row in rows)
    codes = [html.unescape(code) for code in re.findall(r"<code>(.*?)</code>", rendered)]
    assert DTYPE_COMPOSITE in codes
    assert not any("\\|" in code for code in codes)


def test_a_field_of_no_section_is_listed_under_other() -> None:
    schema = copy.deepcopy(_latest())
    schema["properties"]["colour"] = {
        "type": "object",
        "description": "A | pipe and a <b>tag</b>.",
        "properties": {
            "shade": {
                "type": "string",
                "pattern": "^(red|green|x+|y|z)$",
                "examples": ["a|b", "`tick`"],
            }
        },
    }
    page = reference_page(schema, "schema/manifest/test.json")
    tables = _tables(page)
    assert list(tables)[-1] == "Other"
    assert [_field(row[0]) for row in tables["Other"]] == ["colour", "colour.shade"]
    colour, shade = tables["Other"]
    assert all(len(row) == 5 for row in tables["Other"])
    assert _rendered(colour[3]) == "A | pipe and a <b>tag</b>."
    assert _rendered(shade[3]) == "One of red, green, y, z, or a value matching x+."
    assert _rendered(shade[4]) == '"a|b", "`tick`"'


def test_the_page_is_deterministic(page: str) -> None:
    source = f"schema/manifest/{LATEST_SCHEMA_VERSION}.json"
    assert reference_page(copy.deepcopy(_latest()), source) == page
    assert manifest_reference() == page
    assert page.endswith("|\n") and "\n\n\n" not in page
