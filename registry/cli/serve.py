"""modelreg serve: build the site and serve it on localhost for a preview."""

from __future__ import annotations

import argparse
import functools
import tempfile
from pathlib import Path

from registry.cli.common import add_root_argument, resolve_root

HELP = "build the site into a temporary folder and serve it on http://127.0.0.1:PORT/"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (default 8000)")
    parser.add_argument(
        "--allow-invalid",
        action="store_true",
        help="preview the valid versions even when others have errors",
    )
    add_root_argument(parser)


def run(args: argparse.Namespace) -> int:
    import http.server  # here, not at the top: every verb's start-up would pay for it

    from registry.console import log
    from registry.site.builder import build_site
    from registry.site.server import RangeRequestHandler

    class _Handler(RangeRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            log("serve.request", format % args, detail=True)

    root = resolve_root(args)
    with tempfile.TemporaryDirectory(prefix="modelreg-preview-") as scratch:
        site = Path(scratch) / "site"
        base = f"http://127.0.0.1:{args.port}/"
        build_site(root, site, base_url=base, allow_invalid=args.allow_invalid)
        handler = functools.partial(_Handler, directory=str(site))
        with http.server.ThreadingHTTPServer(("127.0.0.1", args.port), handler) as server:
            print(f"serving a preview of {root} at {base} (Ctrl-C to stop)", flush=True)
            try:
                server.serve_forever()
            except KeyboardInterrupt:
                print("stopped")
    return 0
