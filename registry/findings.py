"""The Finding value type: what validation reports, as data rather than exceptions."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """1-based line and column in a text file."""

    line: int
    column: int


def printable(text: str) -> str:
    """`text` as a report writes it: each byte of a file name that is not UTF-8 (Python reads it
    as a lone surrogate, which no UTF-8 output can write) shown as `\\xNN`. Only where a report
    is written: findings keep the name itself, so that two folders are never one finding (a
    folder named `x\\xff` in ASCII, refused for its backslash, reads the same)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            raw = text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a surrogate no file name gives
            return text.encode("utf-8", "backslashreplace").decode("utf-8")
        return raw.decode("utf-8", "backslashreplace")
    return text


@dataclass(frozen=True, slots=True)
class Finding:
    severity: Severity
    code: str
    message: str
    file: str
    line: int | None = None
    column: int | None = None

    @classmethod
    def at(
        cls,
        severity: Severity,
        code: str,
        message: str,
        file: str,
        position: Position | None = None,
    ) -> Finding:
        if position is None:
            return cls(severity, code, message, file)
        return cls(severity, code, message, file, position.line, position.column)

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.file, self.line or 0, self.column or 0, self.code, self.message)

    def to_json(self) -> dict[str, object]:
        return {
            "severity": self.severity.value,
            "code": self.code,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Finding:
        return cls(
            severity=Severity(data["severity"]),
            code=data["code"],
            message=data["message"],
            file=data["file"],
            line=data["line"],
            column=data["column"],
        )


def error(code: str, message: str, file: str, position: Position | None = None) -> Finding:
    return Finding.at(Severity.ERROR, code, message, file, position)


def warning(code: str, message: str, file: str, position: Position | None = None) -> Finding:
    return Finding.at(Severity.WARNING, code, message, file, position)


def info(code: str, message: str, file: str, position: Position | None = None) -> Finding:
    return Finding.at(Severity.INFO, code, message, file, position)


def has_errors(findings: Iterable[Finding], strict: bool = False) -> bool:
    """Errors fail a run; with `strict`, warnings do too."""
    failing = {Severity.ERROR, Severity.WARNING} if strict else {Severity.ERROR}
    return any(f.severity in failing for f in findings)
