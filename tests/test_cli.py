"""The command line: verbs, path selection, report formats and exit codes."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from registry import cli
from registry.infra.schemafiles import validator
from tests.factories.manifests import VALID_REAL_MODELS, manifest_data
from tests.factories.registries import write_version
from tests.helpers import (
    PROJECT,
    REAL_MODELS,
    process_running,
    processes_in,
    run,
    sha256_of,
    validate_json,
)


def _two_versions(root: Path) -> None:
    model = VALID_REAL_MODELS["nmp.tflite"]
    write_version(root, manifest_data(model, "pitch", "1.0.0"), model.path)
    broken = manifest_data(model, "pitch", "2.0.0")
    broken["artifact"]["sha256"] = "f" * 64
    write_version(root, broken, model.path)
    other = VALID_REAL_MODELS["logreg_iris.onnx"]
    write_version(root, manifest_data(other, "iris", "1.0.0"), other.path)


def test_paths_select_manifest_version_or_model(tmp_path: Path) -> None:
    _two_versions(tmp_path)
    models = tmp_path / "models"
    for path, expected in [
        (models / "pitch/1.0.0/manifest.yaml", ["pitch@1.0.0"]),
        (models / "pitch/2.0.0", ["pitch@2.0.0"]),
        (models / "pitch", ["pitch@1.0.0", "pitch@2.0.0"]),
        (models, ["iris@1.0.0", "pitch@1.0.0", "pitch@2.0.0"]),
    ]:
        _, report = validate_json(tmp_path, path)
        assert [v["id"] for v in report["versions"]] == expected
    code, report = validate_json(tmp_path)
    assert code == 1
    assert [v["ok"] for v in report["versions"]] == [True, True, False]


def test_path_outside_models_is_a_clear_error(tmp_path: Path) -> None:
    _two_versions(tmp_path)
    code, _, err = run("validate", "--root", tmp_path, PROJECT / "README.md")
    assert code == 1
    assert "is not inside models/" in err


def test_text_report_format(tmp_path: Path) -> None:
    _two_versions(tmp_path)
    code, out, _ = run("validate", "--root", tmp_path)
    assert code == 1
    first = out.splitlines()[0]
    assert first.startswith("models/pitch/2.0.0/manifest.yaml:")
    _, line, column, rest = first.split(":", 3)
    assert line.isdigit() and column.isdigit()
    assert rest.startswith(" error integrity.sha256-mismatch: ")
    assert out.splitlines()[-1].endswith("FAILED")


def test_json_report_matches_its_schema(tmp_path: Path) -> None:
    _two_versions(tmp_path)
    _, report = validate_json(tmp_path)
    errors = list(validator("validate-report.json").iter_errors(report))
    assert errors == []
    assert report["summary"]["errors"] == 1
    assert report["versions"][0]["model_info"]["format"] == "onnx"


def test_github_format_annotations_and_summary(tmp_path: Path) -> None:
    _two_versions(tmp_path)
    summary = tmp_path / "summary.md"
    code, out, _ = run("validate", "--root", tmp_path, "--format", "github", "--summary", summary)
    assert code == 1
    annotation = out.splitlines()[0]
    assert annotation.startswith(
        "::error file=models/pitch/2.0.0/manifest.yaml,line=10,col=3,"
        "title=integrity.sha256-mismatch::"
    )
    text = summary.read_text()
    assert text.startswith("## ❌ modelreg validate")
    assert "| `pitch@2.0.0` | **failed** |" in text


def test_strict_fails_on_warnings(tmp_path: Path) -> None:
    model = VALID_REAL_MODELS["nmp.tflite"]
    folder = write_version(tmp_path, manifest_data(model, "pitch", "1.0.0"), model.path)
    (folder / "notes.txt").write_text("stray")
    code, report = validate_json(tmp_path)
    assert code == 0
    assert [f["code"] for f in report["findings"]] == ["layout.unreferenced-file"]
    code, _, _ = run("validate", "--root", tmp_path, "--strict")
    assert code == 1


def test_missing_manifest_and_lfs_pointer(tmp_path: Path) -> None:
    (tmp_path / "models/empty/1.0.0").mkdir(parents=True)
    model = VALID_REAL_MODELS["nmp.onnx"]
    folder = write_version(tmp_path, manifest_data(model, "lfs", "1.0.0"))
    pointer = _lfs_pointer(sha256_of(model.path), model.path.stat().st_size)
    (folder / model.file).write_text(pointer)
    code, report = validate_json(tmp_path)
    assert code == 1
    by_code = {f["code"]: f for f in report["findings"]}
    assert set(by_code) == {"layout.missing-manifest", "integrity.lfs-pointer"}
    assert "git lfs pull" in by_code["integrity.lfs-pointer"]["message"]
    assert "oid and size match the manifest" in by_code["integrity.lfs-pointer"]["message"]


def _lfs_pointer(oid: str, size: int) -> str:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {size}\n"


def test_an_lfs_pointer_to_other_bytes_is_caught_without_them(tmp_path: Path) -> None:
    """The pointer's oid and size are checked against the manifest before `git lfs pull`."""
    model = VALID_REAL_MODELS["nmp.onnx"]
    folder = write_version(tmp_path, manifest_data(model, "lfs", "1.0.0"))
    (folder / model.file).write_text(_lfs_pointer("a" * 64, 12))
    code, report = validate_json(tmp_path)
    assert code == 1
    found = {f["code"]: f for f in report["findings"]}
    assert set(found) == {"integrity.lfs-mismatch"} and len(report["findings"]) == 2
    messages = sorted(f["message"] for f in report["findings"])
    assert (
        "size 12, the manifest says" in messages[0] or "size 12, the manifest says" in messages[1]
    )
    assert any("a" * 64 in m and sha256_of(model.path) in m for m in messages)
    fields = sorted(f["line"] for f in report["findings"])
    assert len(set(fields)) == 2  # at the sha256 line and at the size line


@pytest.mark.parametrize(
    "text",
    [
        "version https://git-lfs.github.com/spec/v1\nsize 12\noid sha256:" + "a" * 64 + "\n",
        "version https://git-lfs.github.com/spec/v1\noid md5:abc\nsize 12\n",
        "version https://git-lfs.github.com/spec/v1\noid sha256:" + "a" * 64 + "\nsize 12",
        "version https://git-lfs.github.com/spec/v1\n" + "x y\n" * 400,
    ],
    ids=["unsorted keys", "not sha256", "no final newline", "over 1024 bytes"],
)
def test_a_malformed_lfs_pointer_is_named(tmp_path: Path, text: str) -> None:
    model = VALID_REAL_MODELS["nmp.onnx"]
    folder = write_version(tmp_path, manifest_data(model, "lfs", "1.0.0"))
    (folder / model.file).write_text(text)
    _, report = validate_json(tmp_path)
    assert [f["code"] for f in report["findings"]] == ["integrity.lfs-pointer"]
    assert "not a valid one" in report["findings"][0]["message"]


def test_hash_verb(tmp_path: Path) -> None:
    expected = [
        f"71f431c4e9321ec6fbeb158d02ed240459a7dcc98673fa79a4f439ce42efaf10  130  "
        f"{REAL_MODELS / 'mul_1.onnx'}",
        f"8224784c98d73412d9fd99abcd57a38568bd590980d0fbe5916464531c52e8fc  670  "
        f"{REAL_MODELS / 'logreg_iris.onnx'}",
    ]
    for jobs in ("1", "2"):
        code, out, _ = run(
            "hash", REAL_MODELS / "mul_1.onnx", REAL_MODELS / "logreg_iris.onnx", "--jobs", jobs
        )
        assert code == 0
        assert out.splitlines() == expected  # in the order given, whatever finished first
    code, _, err = run("hash", tmp_path / "nope")
    assert code == 1 and "not a file" in err


def test_usage_error_exits_2() -> None:
    assert run("validate", "--format", "xml")[0] == 2
    assert run("no-such-verb")[0] == 2


def test_internal_error_exits_3_with_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(args: object) -> int:
        raise RuntimeError("boom")

    monkeypatch.setattr(cli.verb_module("hash"), "run", broken)
    code, _, err = run("hash", REAL_MODELS / "mul_1.onnx")
    assert code == 3
    assert "Traceback" in err and "RuntimeError: boom" in err


def test_environment_errors_exit_1_other_os_errors_stay_bugs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def disk_full(args: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device", "/srv/site/v1/index.json")

    monkeypatch.setattr(cli.verb_module("hash"), "run", disk_full)
    code, _, err = run("hash", REAL_MODELS / "mul_1.onnx")
    assert code == 1, err
    assert "modelreg hash: /srv/site/v1/index.json: No space left on device; free some" in err
    assert "Traceback" not in err

    def bad_descriptor(args: object) -> int:
        raise OSError(errno.EBADF, "Bad file descriptor")  # modelreg's own mistake

    monkeypatch.setattr(cli.verb_module("hash"), "run", bad_descriptor)
    code, _, err = run("hash", REAL_MODELS / "mul_1.onnx")
    assert code == 3
    assert "Traceback" in err and "internal error" in err


def test_interrupt_exits_130(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli.verb_module("hash"), "run", interrupted)
    assert run("hash", REAL_MODELS / "mul_1.onnx")[0] == 130


def test_console_script_and_module_entry_points() -> None:
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    for command in (
        [str(Path(sys.executable).parent / "modelreg"), "--version"],
        [sys.executable, "-m", "registry", "--version"],
    ):
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("modelreg ")


def test_registry_yaml_limits_apply(tmp_path: Path) -> None:
    model = VALID_REAL_MODELS["nmp.tflite"]
    data = manifest_data(model, "pitch", "1.0.0")
    data["description"] = "A long description. " * 100
    write_version(tmp_path, data, model.path)
    (tmp_path / "registry.yaml").write_text("name: test\nlimits:\n  yaml_max_bytes: 1024\n")
    code, report = validate_json(tmp_path)
    assert code == 1
    assert [f["code"] for f in report["findings"]] == ["yaml.too-large"]
    (tmp_path / "registry.yaml").write_text("name: test\nlimits:\n  yaml_max_bites: 1024\n")
    code, _, err = run("validate", "--root", tmp_path)
    assert code == 1
    assert "registry.yaml is invalid" in err and "yaml_max_bites" in err
    json.dumps(report)


def test_make_demo_ends_with_how_to_preview_with_serve() -> None:
    """`make demo`'s closing lines name `modelreg serve`: the preview where links, downloads and
    `modelreg fetch` work as on a host (the README says so too)."""
    done = subprocess.run(
        ["make", "--dry-run", "demo"],  # prints the recipe, runs nothing
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    closing = done.stdout.split("-m registry build --out site\n", 1)[1]
    assert "modelreg serve" in closing and "http://127.0.0.1:8000/" in closing
    assert "http.server" not in closing
    readme = (PROJECT / "README.md").read_text()
    assert "make demo" in readme and "modelreg serve" in readme.split("make test")[0]


@pytest.mark.parametrize("ignored", [False, True], ids=["sigterm", "sigterm-ignored"])
def test_sigterm_stops_a_run_as_ctrl_c_does_and_leaves_no_folder(
    tmp_path: Path, ignored: bool
) -> None:
    """kill, systemd, `docker stop` and a cancelled CI job send SIGTERM: the run stops as on
    Ctrl-C (exit 130), and its sandbox's folder is removed, not left behind. Started with
    SIGTERM ignored (`nohup`-like wrappers), it stays ignored, as Python leaves SIGINT."""
    import signal
    import time

    from tests.factories.registries import add_version, new_registry

    root = new_registry(tmp_path / "r")
    add_version(root, "m", "1.0.0", model=VALID_REAL_MODELS["silero_vad.jit"])  # loads torch
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "registry", "validate", "--no-cache", "--root", str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT), "TMPDIR": str(scratch)},
        preexec_fn=(lambda: signal.signal(signal.SIGTERM, signal.SIG_IGN)) if ignored else None,
    )
    try:
        deadline = time.monotonic() + 60
        while not list(scratch.glob("modelreg-zygote-*")) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert list(scratch.glob("modelreg-zygote-*"))  # the run is under way
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == (0 if ignored else 130), err
    assert ("modelreg: interrupted" in err) is not ignored and "Traceback" not in err
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize("stop", ["SIGTERM", "SIGINT"])
def test_stopped_with_jobs_the_workers_sandboxes_end_with_the_run(
    tmp_path: Path, stop: str
) -> None:
    """With --jobs, each worker has its own sandbox. Stopped (SIGTERM, or Ctrl-C: the terminal
    sends SIGINT to the whole process group), the run ends with its workers, and nothing of
    theirs is left: no folder, no zygote still running (each was started in a session of its
    own, so the group's signal did not reach it)."""
    import signal
    import time

    from tests.factories.registries import add_version, new_registry

    root = new_registry(tmp_path / "r")
    for name in ("a", "b"):  # torch takes seconds to load in each worker's zygote
        add_version(root, name, "1.0.0", model=VALID_REAL_MODELS["silero_vad.jit"])
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    command = ["validate", "--no-cache", "--jobs", "2", "--root", str(root)]
    process = subprocess.Popen(
        [sys.executable, "-m", "registry", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT), "TMPDIR": str(scratch)},
        start_new_session=True,  # a process group of its own, as a terminal's job
        # and Ctrl-C's default action, as a terminal's job has it: a test run in the background
        # of a non-interactive shell (`make test &`) inherits SIGINT ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 60
        while len(processes_in(scratch)) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        zygotes = processes_in(scratch)
        assert len(zygotes) >= 2  # both workers are inspecting, each with its zygote
        os.killpg(process.pid, getattr(signal, stop))
        _, err = process.communicate(timeout=60)
        time.sleep(0.2)  # a SIGKILL is delivered at once; the kernel may take a moment to reap
        running = [pid for pid in zygotes if process_running(pid)]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # a failed test leaves no worker either
        for pid in processes_in(scratch):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait()
    assert process.returncode == 130, err
    assert "modelreg: interrupted" in err and "Traceback" not in err
    assert list(scratch.iterdir()) == []
    assert running == []
