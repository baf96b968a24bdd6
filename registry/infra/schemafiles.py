"""The JSON Schemas of schema/ (or their copy in an installed wheel) and their validators: what
the loader, the transport and the cache all read, with no knowledge of findings."""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators
from referencing import Registry, Resource

from registry.infra.schemadir import schema_dir

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@functools.cache
def load_schema(relative: str) -> dict[str, Any]:
    with (schema_dir() / relative).open(encoding="utf-8") as handle:
        schema: dict[str, Any] = json.load(handle)
    return schema


def parse_rfc3339(value: str) -> dt.datetime | None:
    """An RFC 3339 date-time (with an offset or Z), or None."""
    if not re.match(
        r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$", value
    ):
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return None


def _is_date_time(value: object) -> bool:
    return not isinstance(value, str) or parse_rfc3339(value) is not None


def _is_email(value: object) -> bool:
    return not isinstance(value, str) or bool(_EMAIL.match(value))


# Only the formats checked here, without the optional dependencies jsonschema would look for.
_FORMATS = FormatChecker(formats=())
_FORMATS.checkers.update({"date-time": (_is_date_time, ()), "email": (_is_email, ())})


def _retrieve(uri: str) -> Resource:
    """Relative `$ref`s between the files of schema/ resolve to file: URIs read from disk."""
    path = Path(urllib.parse.urlparse(uri).path)
    if schema_dir() not in path.parents:
        raise ValueError(f"refusing to load a schema outside schema/: {uri}")
    return Resource.from_contents(json.loads(path.read_text(encoding="utf-8")))


# JSON Schema patterns are ECMA-262 regular expressions, where a final `$` matches only at the end
# of the string; Python's `$` also matches before a final newline, so "production\n" would pass
# `^[a-z]+$`. Every pattern is read with ECMA's meaning: `\Z` for an unescaped final `$`.
_FINAL_DOLLAR = re.compile(r"(?<!\\)\$$")


def _ecma_pattern(
    checker: Any, pattern: str, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if isinstance(instance, str) and not re.search(_FINAL_DOLLAR.sub(r"\\Z", pattern), instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


_Validator = validators.extend(Draft202012Validator, {"pattern": _ecma_pattern})


@functools.cache
def validator(relative: str) -> Draft202012Validator:
    schema = {**load_schema(relative), "$id": (schema_dir() / relative).resolve().as_uri()}
    found: Draft202012Validator = _Validator(
        schema,
        format_checker=_FORMATS,
        registry=Registry(retrieve=_retrieve),  # type: ignore[call-arg]
    )
    return found
