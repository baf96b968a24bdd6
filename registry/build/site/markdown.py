"""Manifest Markdown to safe HTML: rendered without raw HTML, then sanitized by nh3."""

from __future__ import annotations

import functools

import nh3
from markdown_it import MarkdownIt

_TAGS = {
    "p",
    "br",
    "hr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "strong",
    "em",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}


@functools.cache
def _parser() -> MarkdownIt:
    # "html": False turns any raw HTML in the source into text before nh3 even sees it.
    return MarkdownIt("commonmark", {"html": False}).enable("table")


def _only_http_links(element: str, attribute: str, value: str) -> str | None:
    if element == "a" and attribute == "href":
        return value if value.lower().startswith(("http://", "https://")) else None
    return value


def render_markdown(text: str) -> str:
    html = _parser().render(text)
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https"},
        link_rel="noopener noreferrer nofollow",
        attribute_filter=_only_http_links,
    )
