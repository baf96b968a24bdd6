"""The path of a new user: add real models, fill the TODOs, validate, build, serve, fetch back;
and what fetch refuses."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

from tests.factories.manifests import VALID_REAL_MODELS
from tests.helpers import PROJECT, commit_all, left_nothing, run, sha256_of


def fill_todos(text: str) -> str:
    """What the person adding the model writes where `modelreg add` left a TODO."""
    answers = {
        "the training framework": '"pytorch"',
        "its version": '"2.3.1"',
        "the format does not state it": '"float32"',
        "what the model is for": '"Detects speech or keywords in short audio frames; tests only."',
        "who publishes this version": '"Registry Tests"',
        "tier-1, tier-2 or tier-3": '"tier-1"',
        "an SPDX license expression": '"MIT"',
    }

    def answer(match: re.Match[str]) -> str:
        comment = match.group(2)
        value = next(v for hint, v in answers.items() if hint in comment)
        return f"{match.group(1)}{value}"

    return re.sub(r'^(\s*(?:- )?[a-z_]+: )""  # TODO: (.*)$', answer, text, flags=re.MULTILINE)


def test_new_user_adds_builds_serves_and_fetches(tmp_path: Path, serve: object) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(PROJECT), str(clone)], check=True)
    names = {}
    for file in VALID_REAL_MODELS:
        name = file.replace("_", "-").replace(".", "-")
        code, out, err = run(
            "add",
            PROJECT.parent / "shared/real-models" / file,
            "--root",
            clone,
            "--name",
            name,
            "--version",
            "1.0.0",
            "--license",
            "MIT",
        )
        assert code == 0, err
        assert f"wrote models/{name}/1.0.0/manifest.yaml" in out
        names[name] = file
        manifest = clone / "models" / name / "1.0.0/manifest.yaml"
        code, _, _ = run("validate", "--root", clone, manifest.parent)
        assert code == 1  # the TODOs fail validation until they are filled
        manifest.write_text(fill_todos(manifest.read_text()))
        code, out, _ = run("validate", "--root", clone, manifest.parent, "--format", "json")
        assert code == 0, json.loads(out)["findings"]
    assert (
        run(
            "add",
            PROJECT.parent / "shared/real-models/nmp.tflite",
            "--root",
            clone,
            "--name",
            "nmp-tflite",
            "--version",
            "1.0.0",
        )[0]
        == 1
    )  # no overwriting
    commit_all(clone, "add the real models", "2025-05-01T00:00:00+00:00")
    site = tmp_path / "site"
    code, _, err = run("build", "--root", clone, "--out", site)
    assert code == 0, err
    url = serve(site)  # type: ignore[operator]
    for name, file in names.items():
        target = tmp_path / "fetched" / name
        code, out, err = run("fetch", f"{name}@1.0.0", "--registry", url, "--to", target)
        assert code == 0, err
        fetched = target / file
        assert fetched.read_bytes() == (PROJECT.parent / "shared/real-models" / file).read_bytes()
    # A corrupted byte on the server: a clear error, and no file (not even a partial one) kept.
    served = site / "artifacts/sha256" / sha256_of(PROJECT.parent / "shared/real-models/nmp.tflite")
    data = bytearray(served.read_bytes())
    data[1000] ^= 0xFF
    served.write_bytes(bytes(data))
    target = tmp_path / "corrupted"
    code, _, err = run("fetch", "nmp-tflite", "--registry", url, "--to", target)
    assert code == 1
    assert "chunk 0 (bytes 0-" in err and "does not match its SHA-256" in err
    assert "the file on the server is corrupted" in err
    assert left_nothing(target)


def test_fetch_refuses_deprecated_and_blocked_versions(tmp_path: Path) -> None:
    site = tmp_path / "site"
    assert run("build", "--root", PROJECT, "--out", site)[0] == 0
    record_path = site / "v1/models/iris-mlp/1.0.0/index.json"
    record = json.loads(record_path.read_text())
    record["status"] = "deprecated"
    record["manifest"]["deprecation"] = {
        "reason": "retrained",
        "redirect_to": "iris-mlp@1.1.0",
        "effective_at": "2025-04-01",
    }
    record_path.write_text(json.dumps(record))
    code, _, err = run("fetch", "iris-mlp@1.0.0", "--registry", site, "--to", tmp_path / "a")
    assert code == 1
    assert "deprecated (retrained); use iris-mlp@1.1.0 instead" in err
    assert "--allow-deprecated" in err
    code, _, _ = run(
        "fetch", "iris-mlp@1.0.0", "--registry", site, "--to", tmp_path / "a", "--allow-deprecated"
    )
    assert code == 0
    record["status"] = "blocked"
    record_path.write_text(json.dumps(record))
    code, _, err = run(
        "fetch",
        "iris-mlp@1.0.0",
        "--registry",
        site.as_uri(),
        "--to",
        tmp_path / "b",
        "--allow-deprecated",
    )
    assert code == 1 and "blocked" in err
    assert run("fetch", "iris-mlp@9.9.9", "--registry", site, "--to", tmp_path / "c")[0] == 1
    assert run("fetch", "iris-mlp", "--to", tmp_path / "d")[0] == 2  # where is the registry?


def test_interactive_add_asks_on_a_terminal(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    (root / "models").mkdir(parents=True)
    primary, secondary = pty.openpty()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "registry",
            "add",
            str(PROJECT.parent / "shared/real-models/okay_nabu.tflite"),
            "--name",
            "okay-nabu",
            "--version",
            "1.0.0",
            "--root",
            str(root),
        ],
        stdin=secondary,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
    )
    os.close(secondary)
    for answer in (
        "Apache-2.0",
        "tier-9",
        "tier-2",
        "Wake word detection on microcontrollers.",
        "Nabu Casa",
    ):
        os.write(primary, (answer + "\n").encode())
    out, err = process.communicate(timeout=120)
    os.close(primary)
    assert process.returncode == 0, err
    assert b"wrote models/okay-nabu/1.0.0/manifest.yaml" in out
    text = (root / "models/okay-nabu/1.0.0/manifest.yaml").read_text()
    assert 'license: "Apache-2.0"' in text and 'risk_tier: "tier-2"' in text
    assert 'name: "Nabu Casa"' in text
    assert 'intended_use: "Wake word detection on microcontrollers."' in text


def test_quiet_and_json_logs(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "registry",
            "--log-format",
            "json",
            "validate",
            "--root",
            str(PROJECT),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert {"progress.start", "validated", "progress.done"} <= {line["event"] for line in lines}
    done = subprocess.run(
        [sys.executable, "-m", "registry", "--quiet", "validate", "--root", str(PROJECT)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0 and done.stderr == ""


def test_serve_builds_and_serves() -> None:
    import socket
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "registry", "serve", "--port", str(port), "--root", str(PROJECT)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
    )
    try:
        assert process.stdout is not None
        assert "serving a preview" in process.stdout.readline()
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/index.json") as response:
                    index = json.loads(response.read())
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert index["count"]["versions"] == 5
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_add_names_each_todo_by_its_full_key_path(tmp_path: Path) -> None:
    """`framework.version`, not a bare `version:` that reads as the model's own version; the
    contributor guide shows the same list."""
    root = tmp_path / "registry"
    (root / "models").mkdir(parents=True)
    model = PROJECT.parent / "shared/real-models/okay_nabu.tflite"
    code, out, err = run(
        "add", model, "--root", root, "--name", "okay-nabu", "--version", "1.0.0",
        "--license", "Apache-2.0",
    )  # fmt: skip
    assert code == 0, err
    listed = out.split("`:\n", 1)[1].splitlines()
    assert [line.split()[0] for line in listed] == [
        "framework.version",
        "intended_use",
        "publisher.name",
        "risk_tier",
    ]
    manifest = (root / "models/okay-nabu/1.0.0/manifest.yaml").read_text().splitlines()
    for line in listed:
        path, _, number, hint = line.split(maxsplit=3)
        key = path.rsplit(".", 1)[-1]
        assert manifest[int(number) - 1].lstrip().startswith(f'{key}: ""  # TODO: {hint}')
    guide = (PROJECT / "docs/contributing.md").read_text()
    assert out.split("\n", 1)[1] in guide  # the guide's example is this very output


def test_add_todo_paths_reach_into_lists(tmp_path: Path) -> None:
    """A TorchScript file states no dtype and names no output: the paths say which entry."""
    root = tmp_path / "registry"
    (root / "models").mkdir(parents=True)
    model = PROJECT.parent / "shared/real-models/silero_vad.jit"
    code, out, err = run("add", model, "--root", root, "--name", "vad", "--version", "1.0.0")
    assert code == 0, err
    paths = [line.split()[0] for line in out.split("`:\n", 1)[1].splitlines()]
    assert paths[:4] == [
        "framework.version",
        "input_shape[0].dtype",
        "output_schema[0].name",
        "output_schema[0].dtype",
    ]


def test_serve_removes_its_folder_on_sigterm(tmp_path: Path) -> None:
    """kill, systemd and `docker stop` send SIGTERM: the preview stops as on Ctrl-C, and leaves
    no temporary folder behind."""
    import signal
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "registry", "serve", "--port", str(port), "--root", str(PROJECT)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT), "TMPDIR": str(scratch)},
    )
    try:
        assert process.stdout is not None
        assert "serving a preview" in process.stdout.readline()
        previews = list(scratch.glob("modelreg-preview-*"))
        assert len(previews) == 1 and (previews[0] / "site/v1/index.json").is_file()
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 0, err
    assert out.strip() == "stopped"
    assert not previews[0].exists()
