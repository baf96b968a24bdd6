"""A static file server for previews (`modelreg serve`) that answers HTTP range requests, as
the hosts a registry is published on do: `modelreg fetch` resumes and repairs downloads with
them."""

from __future__ import annotations

import http.server
import os
import re
import shutil
from typing import Any, BinaryIO

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeRequestHandler(http.server.SimpleHTTPRequestHandler):
    """SimpleHTTPRequestHandler plus single byte ranges (206, 416)."""

    _remaining: int | None = None

    def send_head(self) -> Any:
        wanted = self.headers.get("Range")
        path = self.translate_path(self.path)
        if wanted is None or not os.path.isfile(path):  # noqa: PTH113
            self._remaining = None
            return super().send_head()
        size = os.path.getsize(path)  # noqa: PTH202
        match = _RANGE.match(wanted.strip())
        first, last = (match.group(1), match.group(2)) if match else ("", "")
        if not match or (not first and not last):
            return self._unsatisfiable(size)
        start = int(first) if first else max(0, size - int(last))
        end = min(int(last), size - 1) if first and last else size - 1
        if start >= size or start > end:
            return self._unsatisfiable(size)
        handle = open(path, "rb")  # noqa: PTH123, SIM115 - closed by the base class
        handle.seek(start)
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        self._remaining = end - start + 1
        return handle

    def _unsatisfiable(self, size: int) -> None:
        self.send_response(416)
        self.send_header("Content-Range", f"bytes */{size}")
        self.send_header("Content-Length", "0")
        self.end_headers()
        return None

    def copyfile(self, source: BinaryIO, outputfile: BinaryIO) -> None:  # type: ignore[override]
        if self._remaining is None:
            shutil.copyfileobj(source, outputfile)
            return
        remaining = self._remaining
        while remaining > 0:
            data = source.read(min(1 << 20, remaining))
            if not data:
                break
            outputfile.write(data)
            remaining -= len(data)
