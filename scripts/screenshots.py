"""Screenshots of each page type of the catalog, for a reviewer to look at.

    python scripts/screenshots.py [--site DIR] [--out DIR]

Builds the example registry (this repository) into a temporary folder unless --site names a
built site, serves it on loopback, and writes one full-page PNG per page type, size (desktop
1366x900, phone 390x844) and colour scheme (light, dark) with Debian's Chromium driven by
Playwright, into screenshots/ (git-ignored) unless --out says otherwise. Prints the path of
each file.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import json
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

PROJECT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
SIZES = {"desktop": (1366, 900), "phone": (390, 844)}
SCHEMES: tuple[Literal["light", "dark"], ...] = ("light", "dark")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def serve(site: Path) -> Iterator[str]:
    """The site over HTTP on loopback (file:// would refuse the catalog's fetch of its index)."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def build(root: Path, out: Path) -> None:
    command = [sys.executable, "-m", "registry", "build", "--root", str(root), "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"modelreg build failed:\n{done.stderr}")


def page_types(site: Path) -> dict[str, str]:
    """One page of each type, by name: the model with the most versions stands for the model
    and version pages (its latest version, which has the most history)."""
    pages = {"home": "index.html", "timeline": "timeline.html", "lineage": "lineage.html"}
    index: dict[str, Any] = json.loads((site / "v1/index.json").read_text(encoding="utf-8"))
    models = index.get("models", [])
    if models:
        model = max(models, key=lambda m: (len(m["versions"]), m["name"]))
        pages["model"] = f"models/{model['name']}/index.html"
        pages["version"] = f"models/{model['name']}/{model['latest']}/index.html"
    pages["docs"] = "docs/index.html"
    pages["docs-reference"] = "docs/reference/manifest.html"
    return {name: path for name, path in pages.items() if (site / path).is_file()}


def shoot(site: Path, out: Path, chromium: str) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    pages = page_types(site)
    with serve(site) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        for size, (width, height) in SIZES.items():
            for scheme in SCHEMES:
                context = browser.new_context(
                    viewport={"width": width, "height": height}, color_scheme=scheme
                )
                page = context.new_page()
                for name, path in pages.items():
                    page.goto(base + path)
                    page.wait_for_load_state("networkidle")
                    target = out / f"{name}-{size}-{scheme}.png"
                    page.screenshot(path=str(target), full_page=True)
                    written.append(target)
                    print(target, flush=True)
                context.close()
        browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--site", type=Path, help="a built site (default: build the example)")
    parser.add_argument("--root", type=Path, default=PROJECT, help="the registry to build")
    parser.add_argument(
        "--out", type=Path, default=PROJECT / "screenshots", help="output folder (git-ignored)"
    )
    parser.add_argument("--chromium", default=CHROMIUM, help="the Chromium executable")
    args = parser.parse_args(argv)
    if args.site is not None:
        if not (args.site / "index.html").is_file():
            parser.error(f"{args.site} is not a built site (no index.html)")
        shoot(args.site, args.out, args.chromium)
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        site = Path(scratch) / "site"
        build(args.root, site)
        shoot(site, args.out, args.chromium)
    return 0


if __name__ == "__main__":
    sys.exit(main())
