"""The documentation is code too: `mkdocs.yml` and `docs/*.md` checked before MkDocs reads them.

MkDocs loads `mkdocs.yml` with its own YAML loader (python tags, `!ENV`), runs `hooks:` modules,
imports plugins and Markdown extensions by name, renders templates from `theme.custom_dir` with
an unsandboxed Jinja2, and copies raw HTML from Markdown into pages served from the registry's
origin. So the file is read with the safe loader first (tags refused), and only well-known keys,
plugins and extensions are accepted (`mkdocs.config.unsafe`); raw HTML that runs or embeds
(script, iframe, object, event handlers, `javascript:` links) is refused in every page
(`docs.unsafe-html`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from registry.findings import Finding, Position, error, warning
from registry.load.yamlsafe import load_yaml_file

CONFIG = "mkdocs.yml"
UNSAFE_CONFIG = "mkdocs.config.unsafe"
UNSAFE_HTML = "docs.unsafe-html"
_KEYS = frozenset(
    {
        "site_name", "site_description", "site_author", "site_url", "copyright", "docs_dir",
        "use_directory_urls", "theme", "nav", "markdown_extensions", "plugins", "extra",
        "extra_css", "repo_url", "repo_name", "edit_uri", "edit_uri_template", "strict",
        "validation", "not_in_nav", "exclude_docs", "draft_docs", "site_dir", "dev_addr",
        "remote_branch", "remote_name",
    }
)  # fmt: skip
_THEMES = frozenset({"material", "mkdocs", "readthedocs"})
# Options of the three themes that only style or arrange pages (not custom_dir, whose templates
# run unchecked, nor analytics, which loads a third party's script).
_THEME_KEYS = frozenset(
    {
        "name", "features", "palette", "font", "language", "logo", "favicon", "icon", "locale",
        "highlightjs", "hljs_languages", "hljs_style", "hljs_style_dark", "navigation_depth",
        "nav_style", "shortcuts", "color_mode", "user_color_mode_toggle", "collapse_navigation",
        "sticky_navigation", "titles_only", "include_homepage_in_sidebar",
        "prev_next_buttons_location", "style_nav_header_background",
    }
)  # fmt: skip
_URL_KEYS = ("site_url", "repo_url", "edit_uri")
# `extra` values reach the theme's templates, some into inline scripts (analytics, consent):
# only the ones that become links or text.
_EXTRA_KEYS = frozenset({"generator", "social", "homepage"})
# What docs/ may hold besides pages: files a browser only displays. MkDocs copies every other
# file as it is, so a `.js` or `.html` there would be served, and run, from the site's origin.
STATIC_SUFFIXES = frozenset(
    {".md", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".ico", ".avif", ".css", ".txt"}
)
# MkDocs' own search and the material theme's plugins that need neither network nor code.
_PLUGINS = frozenset({"search", "tags", "offline"})
# Python-Markdown's own extensions and pymdownx ones that only format text (not snippets: it
# reads files from anywhere on the disk into a page).
_EXTENSIONS = frozenset(
    {
        "abbr", "admonition", "attr_list", "def_list", "footnotes", "md_in_html", "tables",
        "toc", "sane_lists", "smarty", "meta", "fenced_code", "codehilite", "nl2br",
        "pymdownx.betterem", "pymdownx.caret", "pymdownx.critic", "pymdownx.details",
        "pymdownx.emoji", "pymdownx.highlight", "pymdownx.inlinehilite", "pymdownx.keys",
        "pymdownx.mark", "pymdownx.smartsymbols", "pymdownx.superfences", "pymdownx.tabbed",
        "pymdownx.tasklist", "pymdownx.tilde", "pymdownx.arithmatex",
    }
)  # fmt: skip
# Elements that run or embed something, and URL schemes that do.
_TAGS = frozenset(
    {"script", "iframe", "frame", "frameset", "object", "embed", "applet", "base", "meta",
     "link", "form", "svg", "math", "template", "portal"}
)  # fmt: skip
_URL_ATTRIBUTES = frozenset({"href", "src", "action", "formaction", "data", "xlink:href"})
_SCHEMES = ("javascript:", "vbscript:", "data:")


def _names(items: Any) -> Iterator[str]:
    """The names of a plugins or markdown_extensions list (strings or one-key mappings)."""
    for item in items if isinstance(items, list) else [items]:
        if isinstance(item, str):
            yield item
        elif isinstance(item, Mapping) and len(item) == 1:
            yield str(next(iter(item)))
        else:
            yield repr(item)


def check_config(root: Path) -> list[Finding]:
    path = root / CONFIG
    if not path.is_file():
        return []
    loaded, findings = load_yaml_file(path, CONFIG)
    if loaded is None:
        return findings

    def unsafe(message: str, *key: str | int) -> None:
        findings.append(error(UNSAFE_CONFIG, message, CONFIG, loaded.position(key)))

    data = loaded.data
    for key in sorted(set(data) - _KEYS):
        unsafe(
            f"`{key}` is not accepted in {CONFIG}: `hooks` and `INHERIT` run or read code and "
            "files MkDocs does not check; remove it (accepted: "
            f"{', '.join(sorted(_KEYS))})",
            key,
        )
    if data.get("docs_dir", "docs") != "docs":
        unsafe("docs_dir must be `docs`: the build reads the documentation from there", "docs_dir")
    theme = data.get("theme", "mkdocs")
    theme = {"name": theme} if isinstance(theme, str) else theme
    if not isinstance(theme, Mapping) or theme.get("name") not in _THEMES:
        unsafe(f"theme must be one of {', '.join(sorted(_THEMES))}", "theme")
    else:
        for key in sorted(set(theme) - _THEME_KEYS):
            unsafe(
                f"theme.{key} is not accepted (custom_dir templates run unchecked code at build)",
                "theme",
                key,
            )
    extra = data.get("extra", {})
    for key in sorted(set(extra) - _EXTRA_KEYS) if isinstance(extra, Mapping) else ["extra"]:
        unsafe(
            f"extra.{key} is not accepted: the theme's templates put `extra` values into pages, "
            f"some into scripts (accepted: {', '.join(sorted(_EXTRA_KEYS))})",
            "extra",
        )
    for key in _URL_KEYS:
        value = data.get(key)
        relative_edit = key == "edit_uri" and isinstance(value, str) and ":" not in value
        if value is not None and not (
            (isinstance(value, str) and value.lower().startswith(("https://", "http://", "/")))
            or relative_edit
        ):
            unsafe(f"{key} must be an http(s) URL or a path; the theme links to it", key)
    for field, allowed in (("plugins", _PLUGINS), ("markdown_extensions", _EXTENSIONS)):
        for name in _names(data.get(field, [])):
            if name not in allowed:
                unsafe(
                    f"{field} `{name}` is not one of the well-known ones modelreg accepts "
                    f"({', '.join(sorted(allowed))}): MkDocs would import and run it",
                    field,
                )
    return findings


class _Html(HTMLParser):
    """The first element or attribute of raw HTML that runs or embeds something."""

    def __init__(self) -> None:
        super().__init__()
        self.problem: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.problem is not None:
            return
        if tag in _TAGS:
            self.problem = f"a <{tag}> element"
        for name, value in attrs:
            if name.startswith("on"):
                self.problem = f"an event handler ({name}=)"
            elif name in _URL_ATTRIBUTES and (value or "").strip().lower().startswith(_SCHEMES):
                self.problem = f"a {(value or '').split(':')[0]}: URL"


def _html_problem(html: str) -> str | None:
    parser = _Html()
    parser.feed(html)
    parser.close()
    return parser.problem


def _extensions(root: Path) -> tuple[list[str], dict[str, Any]]:
    """The Markdown extensions MkDocs would use: its defaults and the accepted configured ones."""
    names, configs = ["toc", "tables", "fenced_code"], {}
    loaded, _ = load_yaml_file(root / CONFIG, CONFIG)
    items = loaded.data.get("markdown_extensions", []) if loaded is not None else []
    for item in items if isinstance(items, list) else []:
        name = next(_names([item]))
        if name in _EXTENSIONS and name not in names:
            names.append(name)
        if name in _EXTENSIONS and isinstance(item, Mapping) and isinstance(item[name], Mapping):
            configs[name] = dict(item[name])
    return names, configs


def _rendered_problem(text: str, extensions: tuple[list[str], dict[str, Any]]) -> str | None:
    """What Python-Markdown, the renderer MkDocs uses, makes of the page: it passes raw HTML and
    link URLs through where CommonMark would not (`[x](javascript:...)` stays a link)."""
    import markdown

    try:
        html = markdown.Markdown(extensions=extensions[0], extension_configs=extensions[1]).convert(
            text
        )
    except Exception:  # noqa: BLE001 - an extension's options MkDocs would reject as well
        html = markdown.Markdown(extensions=["toc", "tables", "fenced_code"]).convert(text)
    return _html_problem(html)


def check_pages(root: Path) -> list[Finding]:
    """Raw HTML that runs, in every docs/**/*.md page, as CommonMark splits it out (for its line)
    and as Python-Markdown renders it (what MkDocs publishes); and files a browser would run. (The
    published pages' CSP allows no script but the theme's: this says why a page would break, and
    where.)"""
    if not (root / CONFIG).is_file() or not (root / "docs").is_dir():
        return []
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark")
    extensions = _extensions(root)
    findings = []
    for path in sorted((root / "docs").rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_file() and path.suffix.lower() not in STATIC_SUFFIXES:
            findings.append(
                error(
                    UNSAFE_HTML,
                    f"{relative} would be published as it is, and a browser may run or render it "
                    f"from the registry's origin; docs/ holds pages and images only "
                    f"({', '.join(sorted(STATIC_SUFFIXES))})",
                    relative,
                )
            )
    for page in sorted((root / "docs").rglob("*.md")):
        relative = page.relative_to(root).as_posix()
        try:
            text = page.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError) as exc:
            findings.append(
                error(UNSAFE_HTML, f"{relative} cannot be read as UTF-8: {exc}", relative)
            )
            continue
        found = next(_page_problems(parser, text), None)
        if found is None and (problem := _rendered_problem(text, extensions)) is not None:
            found = (_line_of(text, problem), problem)
        if found is not None:
            findings.append(
                error(
                    UNSAFE_HTML,
                    f"{relative} holds {found[1]}, which would run from the registry's origin; "
                    "documentation pages are text: remove it",
                    relative,
                    Position(found[0], 1),
                )
            )
    return findings


def _line_of(text: str, problem: str) -> int:
    """The first line naming what the rendered page showed (its tag, attribute or scheme)."""
    named = re.search(r"<(\w+)>|\((\w+)=\)|(\w+): URL", problem)
    needle = next((g for g in named.groups() if g), "") if named else ""
    lines = text.lower().splitlines()
    return next((n for n, line in enumerate(lines, 1) if needle and needle in line), 1)


def _page_problems(parser: Any, text: str) -> Iterator[tuple[int, str]]:
    for token in parser.parse(text):
        line = token.map[0] + 1 if token.map else 1
        if token.type == "html_block" and (problem := _html_problem(token.content)):
            yield line, problem
        for child in token.children or []:
            if child.type == "html_inline" and (problem := _html_problem(child.content)):
                yield line, problem


def check_docs(root: Path) -> list[Finding]:
    findings = check_config(root)
    try:
        import markdown  # noqa: F401 - both renderers are needed to read pages as MkDocs does
        import markdown_it  # noqa: F401
    except ImportError:
        if (root / CONFIG).is_file():
            findings.append(
                warning(
                    "docs.unchecked",
                    "the documentation pages were not checked: reading them as MkDocs does "
                    "needs the build extra (pip install 'modelreg[build]'), which building the "
                    "site needs anyway",
                    CONFIG,
                )
            )
        return findings
    return findings + check_pages(root)
