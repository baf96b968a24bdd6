"""Generic test helpers: the project's paths, the CLI run in-process and its JSON report, Git with
a fixed identity, file digests. What builds registries, manifests and models: tests/factories/."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import io
import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from registry.cli import main

PROJECT = Path(__file__).resolve().parent.parent
REAL_MODELS = PROJECT.parent / "shared" / "real-models"
SPDX3_VALIDATOR = PROJECT.parent / "shared" / "tools" / "spdx3-validate-offline"
# The bundled example registry's model files (scripts/make_examples.py), one per format.
EXAMPLE_ONNX = PROJECT / "models/iris-mlp/1.0.0/model.onnx"
EXAMPLE_PT = PROJECT / "models/tiny-convnet/0.1.0/model.pt"
EXAMPLE_TFLITE = PROJECT / "models/keyword-dense/2.0.0/model.tflite"
CHROMIUM = "/usr/bin/chromium"  # Debian's, driven by Playwright (never `playwright install`)


def spdx3_validation(path: Path) -> subprocess.Popen[str]:
    """The real spdx3-validate (JSON Schema + SHACL, offline) started on one document: one
    process per file, since it merges the files it is given into one graph. Wait for it with
    `assert_spdx3_valid`."""
    return subprocess.Popen(
        [sys.executable, str(SPDX3_VALIDATOR), str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def assert_spdx3_valid(process: subprocess.Popen[str], what: object = "") -> None:
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 0, (what, output[-3000:])


def cache_index(root: Path) -> Path:
    """The cache index of the registry at `root` (in the test session's cache folder)."""
    from registry.infra.cache import INDEX_NAME, Cache

    return Cache(root, enabled=False).folder / INDEX_NAME


def script(*args: str) -> subprocess.CompletedProcess[str]:
    """One of the project's scripts (scripts/<name>.py ...), run from the project's folder."""
    return subprocess.run(
        [sys.executable, *args], cwd=PROJECT, capture_output=True, text=True, check=False
    )


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run(*args: str | Path) -> tuple[int, str, str]:
    """Run the CLI in-process; returns (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse on a usage error
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def validate_json(root: Path, *paths: str | Path) -> tuple[int, dict[str, Any]]:
    code, out, _ = run("validate", "--format", "json", "--root", root, *paths)
    return code, json.loads(out)


def error_codes(report: dict[str, Any]) -> set[str]:
    return {f["code"] for f in report["findings"] if f["severity"] == "error"}


def errors(report: dict[str, Any], *keys: str) -> list[Any]:
    """Each error finding's `keys` (code and file unless told), sorted: a tuple per finding, or
    the value itself for one key."""
    keys = keys or ("code", "file")
    found = [f for f in report["findings"] if f["severity"] == "error"]
    if len(keys) == 1:
        return sorted(f[keys[0]] for f in found)
    return sorted(tuple(f[key] for key in keys) for f in found)


def findings(report: dict[str, Any], code: str) -> list[dict[str, Any]]:
    """Every finding of the report with this code, whatever its severity."""
    return [f for f in report["findings"] if f["code"] == code]


GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Registry Tester",
    "GIT_AUTHOR_EMAIL": "tester@example.org",
    "GIT_COMMITTER_NAME": "Registry Tester",
    "GIT_COMMITTER_EMAIL": "tester@example.org",
}


def git(
    root: Path, *args: str, date: str = "2025-01-01T12:00:00+00:00", author: str | None = None
) -> str:
    """Run git in `root` with a fixed identity and date (no global git config needed)."""
    import os
    import subprocess

    env = {**os.environ, **GIT_IDENTITY, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    if author is not None:
        env["GIT_AUTHOR_NAME"] = env["GIT_COMMITTER_NAME"] = author
    done = subprocess.run(["git", *args], cwd=root, env=env, capture_output=True, check=True)
    return done.stdout.decode("utf-8", errors="replace")


def commit_all(
    root: Path, message: str, date: str = "2025-01-01T12:00:00+00:00", author: str | None = None
) -> str:
    """Stage everything and commit; returns the new commit's sha."""
    if not (root / ".git").exists():
        git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "--allow-empty", "-m", message, date=date, author=author)
    return git(root, "rev-parse", "HEAD").strip()


def merge(root: Path, branch: str, message: str, date: str) -> str:
    """Merge `branch` into the checked-out branch with a merge commit (at `date`); its sha."""
    git(root, "merge", "-q", "--no-ff", "-m", message, branch, date=date)
    return git(root, "rev-parse", "HEAD").strip()


def tree_digest(folder: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every file under `folder`."""
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def left_nothing(target: Path) -> bool:
    """A failed fetch leaves nothing in its target (a folder it made is removed too)."""
    return not target.exists() or list(target.iterdir()) == []


def process_running(pid: int) -> bool:
    """`pid` is a process that runs (not gone, not a zombie waiting for its parent to reap it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def processes_in(folder: Path) -> list[int]:
    """The processes whose working folder is `folder` or under it (a sandbox's, for one)."""
    found = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if entry.name.isdigit() and str((entry / "cwd").readlink()).startswith(str(folder)):
                found.append(int(entry.name))
    return found


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """A static file server that keeps the test output clean."""

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve_site(site: Path) -> Iterator[str]:
    """`site` over plain HTTP from a sub-path (/<site.name>/, as on GitHub Pages project sites),
    until the generator is closed; yields the site's URL."""
    handler = functools.partial(QuietHandler, directory=str(site.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/{site.name}/"
    server.shutdown()


def without_search(site: Path) -> Path:
    """A copy of `site` beside it with v1/search.json deleted (the catalog's fallback)."""
    copy = site.parent / "no-search"
    shutil.copytree(site, copy)
    (copy / "v1/search.json").unlink()
    return copy
