"""Progress and log lines on standard error: a bar on a terminal, plain lines otherwise, JSON lines
for CI (`--log-format json`), nothing with `--quiet`. Results themselves go to standard output."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, TextIO

LogFormat = Literal["text", "json"]  # --log-format


@dataclass
class Settings:
    quiet: bool = False
    log_format: LogFormat = "text"
    stream: TextIO = sys.stderr


SETTINGS = Settings()


def configure(quiet: bool, log_format: LogFormat, stream: TextIO | None = None) -> None:
    SETTINGS.quiet, SETTINGS.log_format = quiet, log_format
    SETTINGS.stream = stream or sys.stderr


def log(event: str, message: str, detail: bool = False, **fields: Any) -> None:
    """One line about what happened: `message` for people, `event` and `fields` for machines.

    `detail` lines (one per version, say) are written in JSON mode only.
    """
    if SETTINGS.quiet or (detail and SETTINGS.log_format != "json"):
        return
    if SETTINGS.log_format == "json":
        line = json.dumps({"event": event, "message": message, **fields}, sort_keys=True)
    else:
        line = message
    print(line, file=SETTINGS.stream, flush=True)


class Progress:
    """Progress of one long task: a live bar on a terminal, a start and an end line otherwise."""

    def __init__(self, label: str, total: int, unit: str = "") -> None:
        self.label, self.total, self.unit = label, total, unit
        self.done = 0
        self.started = time.monotonic()
        self.live = (
            not SETTINGS.quiet and SETTINGS.log_format == "text" and SETTINGS.stream.isatty()
        )
        self.shown = 0.0

    def __enter__(self) -> Progress:
        if not self.live:
            log(
                "progress.start",
                f"{self.label}: {self._amount(self.total)}",
                task=self.label,
                total=self.total,
            )
        return self

    def update(self, amount: int = 1) -> None:
        self.done += amount
        now = time.monotonic()
        if self.live and (now - self.shown > 0.1 or self.done >= self.total):
            self.shown = now
            share = self.done / self.total if self.total else 1.0
            bar = "#" * int(share * 30)
            SETTINGS.stream.write(
                f"\r{self.label} [{bar:<30}] {share:4.0%} {self._amount(self.done)}"
            )
            SETTINGS.stream.flush()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        seconds = time.monotonic() - self.started
        if self.live:
            SETTINGS.stream.write("\n")
            SETTINGS.stream.flush()
        elif kind is None:
            log(
                "progress.done",
                f"{self.label}: done in {seconds:.1f} s",
                task=self.label,
                seconds=round(seconds, 3),
            )

    def _amount(self, count: int) -> str:
        if self.unit == "bytes":
            return f"{count / 1e6:.1f} MB"
        return f"{count} {self.unit}".strip()
