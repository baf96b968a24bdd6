"""modelreg serve: build the site and serve it on localhost for a preview."""

from __future__ import annotations

import argparse
import functools
import tempfile
from pathlib import Path

from registry.cli.common import add_root_argument, resolve_root
from registry.errors import ModelregError

HELP = "build the site into a temporary folder and serve it on http://127.0.0.1:PORT/"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=_port, default=8000, help="port on 127.0.0.1 (default 8000)")
    parser.add_argument(
        "--allow-invalid",
        action="store_true",
        help="preview the valid versions even when others have errors",
    )
    add_root_argument(parser)


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: a port is a number from 1 to 65535")
    return int(text)


def run(args: argparse.Namespace) -> int:
    import http.server  # here, not at the top: every verb's start-up would pay for it

    from registry.build.site.builder import build_site
    from registry.build.site.server import RangeRequestHandler
    from registry.infra.console import log

    class _Handler(RangeRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            log("serve.request", format % args, detail=True)

    root = resolve_root(args)
    with tempfile.TemporaryDirectory(prefix="modelreg-preview-") as scratch:
        site = Path(scratch) / "site"
        base = f"http://127.0.0.1:{args.port}/"
        handler = functools.partial(_Handler, directory=str(site))
        try:  # the port first: a port in use is known before a whole build
            server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), handler)
        except OSError as exc:
            raise ModelregError(
                f"cannot serve on port {args.port}: {exc.strerror}; choose another with --port"
            ) from exc
        with server:
            build_site(root, site, base_url=base, allow_invalid=args.allow_invalid)
            try:  # from the line on: a signal as soon as it is read stops the preview too
                print(f"serving a preview of {root} at {base} (Ctrl-C to stop)", flush=True)
                server.serve_forever()
            except KeyboardInterrupt:
                print("stopped")
    return 0
