"""The HTML catalog, rendered with Jinja2 (autoescaped) from the same data as the JSON API."""

from __future__ import annotations

import functools
import json
import posixpath
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from registry.build.site.markdown import render_markdown
from registry.tensors import format_shape

# First element of every <head>. No inline script or style anywhere, so 'self' is all it needs.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'"
)


def root_prefix(page: str) -> str:
    """The relative path from a page to the site root, e.g. '../../' (or '' at the root)."""
    depth = page.count("/")
    return "../" * depth


def safe_url(value: object) -> str | None:
    """The URL if it is http(s), else None: manifest URLs never become javascript: links."""
    if isinstance(value, str) and value.lower().startswith(("http://", "https://")):
        return value
    return None


def _json_script(data: Any) -> Markup:
    """JSON for a <script type="application/json"> block: `<` escaped so it cannot close it."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    escaped = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(escaped)  # noqa: S704 - JSON with every <, > and & escaped


@functools.cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("registry.build.site", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # the templates are the package's: no stat of each at every page
    )
    # nh3 has sanitized the HTML, so it may be marked safe.
    env.filters["markdown"] = lambda text: Markup(render_markdown(text or ""))  # noqa: S704
    env.filters["safe_url"] = safe_url
    env.filters["json_script"] = _json_script
    env.filters["shape"] = format_shape
    env.globals["csp"] = CONTENT_SECURITY_POLICY
    env.globals["flag_titles"] = FLAG_TITLES
    return env


FLAG_TITLES = {
    "drift": "the latest drift report is over the risk tier's threshold (monitored)",
    "evaluation-failed": "the latest evaluation did not pass",
}


def render_page(template: str, page: str, **context: Any) -> str:
    """Render `template` as the site file `page`; links in templates are relative to `root`."""
    root = root_prefix(page)
    return (
        environment()
        .get_template(template)
        .render(root=root, page=page, here=posixpath.dirname(page), **context)
    )
