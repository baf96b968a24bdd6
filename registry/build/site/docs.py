"""The MkDocs documentation, with reference pages generated from the JSON Schemas."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

from registry.build.site.reference import manifest_reference
from registry.errors import ModelregError

CONFIG_FILE = "mkdocs.yml"
MANIFEST_REFERENCE = "reference/manifest.md"
# The theme's own inline scripts are allowed by their hashes (added per page); nothing else.
DOCS_CSP = (
    "default-src 'self'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "base-uri 'none'; form-action 'none'; object-src 'none'; frame-src 'none'"
)


@contextlib.contextmanager
def _quiet_mkdocs() -> Iterator[None]:
    logger = logging.getLogger("mkdocs")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def build_docs(root: Path, out: Path, epoch: int, site_url: str) -> bool:
    """Build the registry's MkDocs site into `out`; False when the registry has no mkdocs.yml."""
    config_file = root / CONFIG_FILE
    if not config_file.is_file():
        return False
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    if not (root / "docs").is_dir():
        raise ModelregError(
            f"{CONFIG_FILE} is present but docs/ is not; add docs/ or remove {CONFIG_FILE}"
        )
    with tempfile.TemporaryDirectory() as scratch:
        docs = Path(scratch) / "docs"
        shutil.copytree(root / "docs", docs, symlinks=True)
        links = [p.relative_to(docs) for p in docs.rglob("*") if p.is_symlink()]
        if links:
            raise ModelregError(
                f"docs/{links[0]} is a symbolic link; the documentation may only "
                "hold files of its own"
            )
        (docs / MANIFEST_REFERENCE).parent.mkdir(parents=True, exist_ok=True)
        (docs / MANIFEST_REFERENCE).write_text(manifest_reference(), encoding="utf-8")
        previous = os.environ.get("SOURCE_DATE_EPOCH")
        os.environ["SOURCE_DATE_EPOCH"] = str(epoch)  # sitemap dates come from Git, not the clock
        try:
            with _quiet_mkdocs():
                config = load_config(
                    str(config_file), docs_dir=str(docs), site_dir=str(out), site_url=site_url
                )
                build(config)
            # What a page or the configuration could have put into a page as a script.
            sources = [config_file.read_text(encoding="utf-8", errors="replace")] + [
                p.read_text(encoding="utf-8", errors="replace")
                for p in docs.rglob("*")
                if p.is_file()
            ]
        except (MkDocsException, OSError) as exc:
            # MkDocs' configuration errors carry a traceback after their first line
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelregError(
                f"the documentation build (MkDocs, {CONFIG_FILE}) failed: {reason}"
            ) from None
        finally:
            if previous is None:
                del os.environ["SOURCE_DATE_EPOCH"]
            else:
                os.environ["SOURCE_DATE_EPOCH"] = previous
    _relative_error_page(out, site_url)
    _name_search_dialog(out)
    _add_csp(out, sources)
    return True


ERROR_PAGE = "404.html"


def _relative_error_page(out: Path, site_url: str) -> None:
    """Make 404.html link relatively, as every other page does.

    MkDocs writes the error page with paths made absolute from site_url (for a host that serves
    it at any depth), so it lost its styles, scripts and links wherever the site is served under
    another path than registry.yaml's base_url: `http.server -d site`, a fork's Pages site, a
    copy on disk. Relative to docs/, it works at docs/404.html under any base path."""
    page = out / ERROR_PAGE
    if not page.is_file():
        return
    prefix = re.escape(urlsplit(site_url).path)  # "/registry/docs/", or "/docs/" at a root
    text = page.read_text(encoding="utf-8")
    text = re.sub(f'"{prefix}"', '"."', text)  # the theme's base and storage scope
    text = re.sub(f"(?<=[\"']){prefix}", "", text)  # every link, in attributes and config
    page.write_text(text, encoding="utf-8")


# The material theme's search is a dialog with no name, which screen readers announce as just
# "dialog" (axe-core's aria-dialog-name): it gets the name its input already shows.
_SEARCH_DIALOG = 'data-md-component="search" role="dialog"'


def _name_search_dialog(out: Path) -> None:
    for page in sorted(out.rglob("*.html")):
        text = page.read_text(encoding="utf-8")
        if _SEARCH_DIALOG in text:
            named = text.replace(_SEARCH_DIALOG, f'{_SEARCH_DIALOG} aria-label="Search"', 1)
            page.write_text(named, encoding="utf-8")


class _InlineScripts(HTMLParser):
    """The text of every inline script of a page (scripts that carry data, such as JSON, are
    not run and need no hash)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.scripts: list[str] = []
        self._open = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        kind = (dict(attrs).get("type") or "text/javascript").lower()
        self._open = tag == "script" and "src" not in dict(attrs) and "json" not in kind
        if self._open:
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._open = False

    def handle_data(self, data: str) -> None:
        if self._open:
            self.scripts[-1] += data


def _inline_scripts(page: str) -> list[str]:
    parser = _InlineScripts()
    parser.feed(page)
    return parser.scripts


def _hash(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


def _add_csp(out: Path, sources: list[str]) -> None:
    """Make the CSP meta tag the first element of every documentation page, as in the catalog.

    The theme runs small inline scripts on every page (their text depends on the page's depth):
    each page allows its own by their SHA-256. An inline script whose text is in a source file
    of docs/ came from a page's raw HTML (which validation refuses anyway) and is not allowed:
    no inline code runs but the theme's."""
    for page in sorted(out.rglob("*.html")):
        text = page.read_text(encoding="utf-8")
        theirs = {
            _hash(script)
            for script in _inline_scripts(text)
            if script.strip() and not any(script.strip() in source for source in sources)
        }
        policy = DOCS_CSP.format(hashes="".join(f" {h}" for h in sorted(theirs)))
        meta = f'<meta http-equiv="Content-Security-Policy" content="{policy}">'
        page.write_text(text.replace("<head>", f"<head>\n{meta}", 1), encoding="utf-8")
