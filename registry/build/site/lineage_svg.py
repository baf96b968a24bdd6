"""A lineage graph as inline SVG: datasets on the left, each version (or model) one column to
the right of what it was derived from. Drawn here, with no script and nothing fetched."""

from __future__ import annotations

from collections.abc import Callable

from markupsafe import Markup, escape

from registry.build.lineage import LineageGraph
from registry.load.manifest import DATASET_PREFIX

WIDTH, HEIGHT = 210, 30  # of a node
COLUMN_GAP, ROW_GAP, MARGIN = 70, 14, 10
ARC = 60  # how far an edge that skips columns bends upwards, so that it passes over the boxes
MAX_LABEL = 28


def _depths(graph: LineageGraph) -> dict[str, int]:
    """Each version's column: 1 + the deepest of its bases (in topological order, so that a
    chain of any length needs no recursion); a version on a cycle gets 1."""
    bases: dict[str, set[str]] = {v: set() for v in graph.versions}
    derived: dict[str, list[str]] = {}
    for a, b in graph.edges:
        if a in bases and b in graph.versions and a != b:
            bases[a].add(b)
            derived.setdefault(b, []).append(a)
    waiting = {v: len(found) for v, found in bases.items()}
    depths = {v: 1 for v, count in waiting.items() if count == 0}
    ready = sorted(depths)
    while ready:
        node = ready.pop()
        for child in derived.get(node, []):
            depths[child] = max(depths.get(child, 1), depths[node] + 1)
            waiting[child] -= 1
            if waiting[child] == 0:
                ready.append(child)
    return {v: depths.get(v, 1) for v in graph.versions}


def _label(node: str) -> str:
    text = node.removeprefix(DATASET_PREFIX)
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def render_svg(
    graph: LineageGraph, current: set[str], href: Callable[[str], str | None], title: str
) -> Markup:
    """The graph as an <svg> element; `current` nodes are highlighted, `href` links a node."""
    depths = _depths(graph)
    offset = 0 if graph.datasets else -1  # no dataset column when there are no datasets
    columns: dict[int, list[str]] = {}
    for node in sorted(graph.datasets):
        columns.setdefault(0, []).append(node)
    for node in sorted(graph.versions, key=lambda n: (depths[n], n)):
        columns.setdefault(depths[node] + offset, []).append(node)
    where: dict[str, tuple[int, int]] = {}
    for column, nodes in columns.items():
        for row, node in enumerate(nodes):
            where[node] = (
                MARGIN + column * (WIDTH + COLUMN_GAP),
                MARGIN + ARC + row * (HEIGHT + ROW_GAP),
            )
    width = MARGIN * 2 + max(columns, default=0) * (WIDTH + COLUMN_GAP) + WIDTH
    rows = max((len(nodes) for nodes in columns.values()), default=1)
    height = MARGIN * 2 + ARC + rows * (HEIGHT + ROW_GAP) - ROW_GAP
    parts = [
        f'<svg class="lineage" xmlns="http://www.w3.org/2000/svg" role="group" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z"/>'
        "</marker></defs>",
    ]
    for a, b in sorted(graph.edges):
        if a not in where or b not in where:
            continue
        (ax, ay), (bx, by) = where[a], where[b]
        x1, y1, x2, y2 = bx + WIDTH, by + HEIGHT // 2, ax, ay + HEIGHT // 2
        bend = (x2 - x1) // 2
        lift = ARC if x2 - x1 > COLUMN_GAP else 0
        kind = "trained-on" if b in graph.datasets else "derived-from"
        parts.append(
            f'<path class="edge {kind}" marker-end="url(#arrow)" '
            f'd="M {x1} {y1} C {x1 + bend} {y1 - lift}, {x2 - bend} {y2 - lift}, {x2} {y2}"/>'
        )
    for node, (x, y) in sorted(where.items()):
        kind = "dataset" if node in graph.datasets else "version"
        classes = f"node {kind}" + (" current" if node in current else "")
        box = (
            f'<g class="{classes}"><title>{escape(node)}</title>'
            f'<rect x="{x}" y="{y}" width="{WIDTH}" height="{HEIGHT}" rx="5"/>'
            f'<text x="{x + 10}" y="{y + HEIGHT // 2 + 5}">{escape(_label(node))}</text></g>'
        )
        target = href(node)
        parts.append(f'<a href="{escape(target)}">{box}</a>' if target else box)
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above is escaped
