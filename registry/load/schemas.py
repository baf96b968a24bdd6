"""Schema errors turned into findings with positions (the schemas themselves: infra.schemafiles)."""

from __future__ import annotations

import difflib
import re

import jsonschema

from registry.findings import Finding, error
from registry.infra.schemafiles import validator
from registry.load.yamlsafe import LoadedYaml

_PATTERN_HINTS = {
    "version": "a SemVer 2.0 version such as 1.0.0 or 2.1.0-rc.1",
    "model_name": "a model name: lowercase letters, digits and `-`, at most 64 characters, "
    "starting and ending with a letter or digit",
    "sha256": "a SHA-256 digest: 64 lowercase hexadecimal digits",
    "base_model": "a reference `name@version` such as resnet-tiny@1.0.0",
    "redirect_to": "a reference `name@version` such as resnet-tiny@2.0.0",
    "url": "an https:// URL",
    "dtype": "a dtype of the vocabulary (float32, int64, ...; see the manifest reference)",
    "calibration_dataset_hash": "`sha256:` followed by 64 lowercase hexadecimal digits",
    "commit": "a Git commit hash (7 to 64 hexadecimal digits)",
    "public_base_url": "an https:// URL (scheme, host, optional port and path; no query)",
    "endpoint_url": "an http(s):// URL of a host and optional port, without a path",
    "bucket": "a bucket name: 3 to 222 lowercase letters, digits, `.`, `_` or `-`",
    "prefix": "a key prefix such as `models` or `registry/v1` (no leading or trailing `/`, "
    "no `.` or `..` segment)",
}


def _dotted(path: tuple[str | int, ...]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(top level)"


def _schema_error_to_finding(
    exc: jsonschema.ValidationError, loaded: LoadedYaml, file: str
) -> Finding:
    path = tuple(exc.absolute_path)
    where = _dotted(path)
    position = loaded.position(path)
    kind = exc.validator
    if kind == "required":
        missing = re.findall(r"'([^']+)' is a required property", exc.message)
        field = missing[0] if missing else exc.message
        full = f"{where}.{field}" if path else field
        return error("schema.required", f"missing required field `{full}`", file, position)
    if kind == "additionalProperties":
        unknown = re.findall(r"'([^']+)'", exc.message.split("(")[-1])
        allowed = sorted((exc.schema.get("properties") or {}).keys())
        notes = []
        for name in unknown:
            close = difflib.get_close_matches(name, allowed, n=1)
            notes.append(f"`{name}`" + (f" (did you mean `{close[0]}`?)" if close else ""))
        position = loaded.position((*path, unknown[0])) if unknown else position
        return error(
            "schema.unknown-field",
            f"unknown field {', '.join(notes)} in {where}; allowed: {', '.join(allowed)}",
            file,
            position,
        )
    if kind == "type" and path in loaded.plain_non_strings and "string" in str(exc.validator_value):
        text = loaded.plain_non_strings[path]
        key = path[-1] if path and isinstance(path[-1], str) else where
        return error(
            "yaml.unquoted-scalar",
            f"{where}: `{text}` is read as {type(exc.instance).__name__} {exc.instance!r}, "
            f'not the string "{text}"; quote it: {key}: "{text}"',
            file,
            position,
        )
    if kind == "const" and path == ("schema_version",):
        return error("schema.const", f"{where} must be {exc.validator_value!r}", file, position)
    field = next((p for p in reversed(path) if isinstance(p, str)), "")
    expected = _PATTERN_HINTS.get(field, f"the pattern {exc.validator_value}")
    messages = {
        "pattern": f"{where}: {exc.instance!r} is not {expected}",
        "enum": f"{where}: {exc.instance!r} is not one of {exc.validator_value}",
        "minLength": f"{where} is empty; fill it in"
        if exc.instance == ""
        else f"{where} is too short: at least {exc.validator_value} characters",
        "minItems": f"{where} needs at least {exc.validator_value} item(s)",
        "format": f"{where}: {exc.instance!r} is not a valid {exc.validator_value}",
    }
    message = messages.get(str(kind), f"{where}: {exc.message}")
    code = "schema." + re.sub(r"(?<!^)(?=[A-Z])", "-", str(kind)).lower()
    return error(code, message, file, position)


def validate_against(relative: str, loaded: LoadedYaml, file: str) -> list[Finding]:
    """Every schema violation of `loaded`, each at the line of the offending key."""
    errors = sorted(validator(relative).iter_errors(loaded.data), key=lambda e: list(e.path))
    return [_schema_error_to_finding(exc, loaded, file) for exc in errors]
