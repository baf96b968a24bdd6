"""The file name an artifact named by URL is saved under: one rule for validation (its staging
folder), `modelreg fetch` and the version page's snippets, so that all three put the same bytes
under the same name (and a duplicate is caught by the one that validates)."""

from __future__ import annotations

import re
import urllib.parse
from pathlib import PurePosixPath

FALLBACK = "artifact"
_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def url_file_name(url: str) -> str:
    """The URL's last path segment when it is a plain name, else `artifact`."""
    name = PurePosixPath(urllib.parse.unquote(urllib.parse.urlsplit(url).path)).name
    return name if _PLAIN.fullmatch(name) else FALLBACK
