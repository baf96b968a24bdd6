"""The `modelreg` command: parse arguments, run one verb, map the outcome to an exit code.

Exit codes: 0 success, 1 findings or a failed operation (an environment failure too: a full disk,
a permission, a read-only target; registry.errors.environment_failure), 2 usage error, 3 internal
error (a bug: the traceback is shown), 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterator, Sequence
from types import FrameType, ModuleType

from registry import __version__
from registry.errors import ModelregError, UsageError, environment_failure, is_environmental
from registry.infra import console

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

# The verbs; each one's module (registry.cli.<verb, "-" as "_">) is imported only when it is
# the verb asked for, or for the list of verbs: a command starts without the others' imports.
VERBS = (
    "validate",
    "add",
    "build",
    "publish",
    "events",
    "fetch",
    "diff",
    "verify-log",
    "inspect",
    "hash",
    "migrate",
    "codeowners",
    "sign",
    "serve",
)


def verb_module(name: str) -> ModuleType:
    return importlib.import_module(f"registry.cli.{name.replace('-', '_')}")


def _verb_of(argv: Sequence[str]) -> str | None:
    """The verb of `argv` when only the top-level options spelled in full come before it; else
    None, and the parser knows every verb (help, a misspelled verb, an abbreviated option, an
    option added later): a guess that is never wrong, only sometimes absent."""
    index = 0
    while index < len(argv):
        arg = argv[index]
        if arg in VERBS:
            return arg
        if arg == "--log-format":
            index += 2
        elif arg == "--quiet" or arg.startswith("--log-format="):
            index += 1
        else:
            return None
    return None


def build_parser(verb: str | None = None) -> argparse.ArgumentParser:
    """The parser of every verb, or of `verb` alone (the others are only named)."""
    parser = argparse.ArgumentParser(
        prog="modelreg",
        description="A static, Git-backed AI model registry.",
    )
    parser.add_argument("--version", action="version", version=f"modelreg {__version__}")
    parser.add_argument(
        "--quiet", action="store_true", help="no progress or log lines on standard error"
    )
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="log lines as text or as JSON objects (for CI)",
    )
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for name in VERBS:
        if verb is not None and name != verb:
            verbs.add_parser(name)
            continue
        module = verb_module(name)
        sub = verbs.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    started = sys.modules.get("multiprocessing")  # imported by a started worker, if this is one
    if started is not None and getattr(started.current_process(), "_inheriting", False):
        # A started worker (build --jobs) imports the script that started modelreg again; one
        # that calls main() unguarded would start a second build there, which would wait for
        # the first one's lock for good.
        raise SystemExit(
            "modelreg: a worker process imported the script that calls registry.cli.main() "
            "again, and the script called it again: call main() under "
            '`if __name__ == "__main__":`, as a script that starts processes must.'
        )
    arguments = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_verb_of(arguments))
    args = parser.parse_args(arguments)  # exits 2 on a usage error
    for stream in (sys.stdout, sys.stderr):
        # A file name's bytes that are not UTF-8 never make a message fail to print.
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    console.configure(args.quiet, args.log_format)
    try:
        with _terminate_as_interrupt():
            result: int = verb_module(args.verb).run(args)
        return result
    except UsageError as exc:
        parser.print_usage(sys.stderr)
        print(f"modelreg {args.verb}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ModelregError as exc:
        print(f"modelreg {args.verb}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:
        # The reader went away (`modelreg events | head`): stop quietly, as a pipe stage should.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        print("modelreg: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as exc:
        if not is_environmental(exc):
            return _internal_error()
        print(f"modelreg {args.verb}: {environment_failure(exc)}", file=sys.stderr)
        return EXIT_FAILED
    except Exception:  # noqa: BLE001 - a bug: show the traceback, exit 3
        return _internal_error()


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (kill, systemd, docker stop, a cancelled CI job) stops a verb as Ctrl-C does: the
    default action ends the process at once, leaving its temporary folders (the sandbox's, the
    downloads', the preview's) behind; an exception unwinds the blocks that remove them."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    ignored = signal.getsignal(signal.SIGTERM) is signal.SIG_IGN  # by whoever started us
    if ignored or threading.current_thread() is not threading.main_thread():
        yield  # left ignored as asked; and only the main thread may set handlers
        return
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _internal_error() -> int:
    """Within the handler of an exception that is a bug: its traceback, then exit 3."""
    traceback.print_exc()
    print(
        "modelreg: internal error (a bug in modelreg); please report it with the traceback above",
        file=sys.stderr,
    )
    return EXIT_INTERNAL
