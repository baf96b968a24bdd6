"""Artifacts named by URL: validation downloads them from allowed hosts over real TLS (a server
on loopback with its own CA) and checks them like files in the repository."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from tests.factories.attacks import evil_archive
from tests.factories.https_server import Served
from tests.factories.manifests import VALID_REAL_MODELS, manifest_data
from tests.factories.onnx_models import MATMUL_IO, WEIGHTS, matmul_reading
from tests.factories.registries import write_version
from tests.helpers import REAL_MODELS, commit_all, error_codes, run, validate_json

MODEL = VALID_REAL_MODELS["nmp.tflite"]


def remote_version(
    root: Path,
    served: Served,
    content: bytes,
    url_path: str = "models/nmp.tflite",
    allowed: bool = True,
    change: Any = None,
) -> dict[str, Any]:
    """A registry whose only version names its artifact by a URL on the test server."""
    hosts = f"artifacts:\n  allowed_hosts: ['{served.host}']\n" if allowed else ""
    (root / "registry.yaml").write_text("name: remote\n" + hosts)
    served.files[url_path] = content
    data = manifest_data(MODEL, "remote", "1.0.0")
    del data["artifact"]["path"]
    data["artifact"].update(
        url=served.url(url_path), sha256=hashlib.sha256(content).hexdigest(), size=len(content)
    )
    if change is not None:
        change(data)
    write_version(root, data)
    commit_all(root, "a version named by URL")
    return data


def findings_of(report: dict[str, Any], code: str) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["code"] == code]


def test_an_allowed_url_is_downloaded_and_checked_like_a_file(
    tmp_path: Path, served: Served
) -> None:
    remote_version(tmp_path, served, MODEL.path.read_bytes())
    code, report = validate_json(tmp_path)
    assert code == 0, report["findings"]
    assert served.requests == ["models/nmp.tflite"]
    info = report["versions"][0]["model_info"]
    assert [t["name"] for t in info["inputs"]] == ["serving_default_input_2:0"]
    code, report = validate_json(tmp_path)  # the download is kept, outside the repository
    assert code == 0 and served.requests == ["models/nmp.tflite"]
    site = tmp_path / "site"
    assert run("build", "--root", tmp_path, "--out", site)[0] == 0
    record = json.loads((site / "v1/models/remote/1.0.0/index.json").read_text())
    assert record["artifact"]["url"] == served.url("models/nmp.tflite")


def test_a_host_not_allowed_is_never_contacted(tmp_path: Path, served: Served) -> None:
    remote_version(tmp_path, served, MODEL.path.read_bytes(), allowed=False)
    code, report = validate_json(tmp_path)
    assert code == 1
    [finding] = findings_of(report, "integrity.unverified-remote")
    assert "allowed_hosts" in finding["message"] and finding["line"] > 1
    assert served.requests == []
    code, _, err = run("build", "--root", tmp_path, "--out", tmp_path / "site")
    assert code == 1 and "nothing was published" in err


def test_a_pickle_at_a_url_is_refused_as_it_would_be_in_the_repository(
    tmp_path: Path, served: Served
) -> None:
    def as_torchscript(data: dict[str, Any]) -> None:
        data["format"] = "torchscript"

    pickle = (REAL_MODELS / "facenet_pnet.pt").read_bytes()  # a legacy torch.save pickle
    remote_version(tmp_path, served, pickle, "pnet.pt", change=as_torchscript)
    code, report = validate_json(tmp_path)
    assert code == 1 and "format.unrecognized" in error_codes(report)


def test_an_archive_that_runs_code_at_a_url_is_refused(tmp_path: Path, served: Served) -> None:
    def as_torchscript(data: dict[str, Any]) -> None:
        data["format"] = "torchscript"

    remote_version(tmp_path, served, evil_archive(), "model.pt", change=as_torchscript)
    code, report = validate_json(tmp_path)
    assert code == 1 and "security.torchscript-op" in error_codes(report)


@pytest.mark.parametrize(
    ("serve", "code", "message"),
    [
        ("redirect", "integrity.unverified-remote", "another host"),
        ("larger", "integrity.unverified-remote", "the manifest says"),
        ("other bytes", "integrity.sha256-mismatch", "SHA-256"),
        ("missing", "integrity.unverified-remote", "HTTP 404"),
    ],
)
def test_what_a_server_can_do_wrong(
    tmp_path: Path, served: Served, serve: str, code: str, message: str
) -> None:
    content = MODEL.path.read_bytes()
    remote_version(tmp_path, served, content)
    if serve == "redirect":  # the same server under another name is another host
        served.redirects["models/nmp.tflite"] = f"https://localhost:{served.port}/elsewhere"
        served.files["elsewhere"] = content
    elif serve == "larger":
        served.files["models/nmp.tflite"] = content + b"\0" * 1024
    elif serve == "other bytes":
        served.files["models/nmp.tflite"] = bytes(len(content))
    else:
        del served.files["models/nmp.tflite"]
    exit_code, report = validate_json(tmp_path)
    assert exit_code == 1
    [finding] = findings_of(report, code)
    assert message in finding["message"]
    assert "elsewhere" not in served.requests


def test_a_failed_download_is_not_remembered(tmp_path: Path, served: Served) -> None:
    """The same manifest validates once the server answers: a result that depended on the
    network was not kept."""
    content = MODEL.path.read_bytes()
    remote_version(tmp_path, served, content)
    del served.files["models/nmp.tflite"]
    code, report = validate_json(tmp_path)
    assert code == 1 and "integrity.unverified-remote" in error_codes(report)
    served.files["models/nmp.tflite"] = content
    code, report = validate_json(tmp_path)
    assert code == 0, report["findings"]


def test_external_data_at_urls(tmp_path: Path, served: Served) -> None:
    model = matmul_reading("weights.bin")
    weights = WEIGHTS
    served.files["blobs/w"] = weights

    def onnx_with_weights(data: dict[str, Any], listed: bool = True) -> None:
        data["format"] = "onnx"
        data.update(MATMUL_IO)
        if listed:
            data["artifact"]["external_data"] = [
                {
                    "path": "weights.bin",
                    "url": served.url("blobs/w"),
                    "sha256": hashlib.sha256(weights).hexdigest(),
                    "size": len(weights),
                }
            ]

    content = model.SerializeToString()
    remote_version(tmp_path, served, content, "m/model.onnx", change=onnx_with_weights)
    code, report = validate_json(tmp_path)
    assert code == 0, report["findings"]
    assert sorted(served.requests) == ["blobs/w", "m/model.onnx"]
    remote_version(
        tmp_path, served, content, "m/model.onnx", change=lambda d: onnx_with_weights(d, False)
    )
    code, report = validate_json(tmp_path)
    assert code == 1 and "integrity.unlisted-external-data" in error_codes(report)


def test_external_data_of_a_url_artifact_is_published_with_its_own_urls(
    tmp_path: Path, served: Served
) -> None:
    """The record lists every external file with the URL its manifest gives (no site copy, no
    template URL), so fetch, the file table and the snippets find them all."""
    served.files["blobs/w"] = WEIGHTS

    def onnx_with_weights(data: dict[str, Any]) -> None:
        data["format"] = "onnx"
        data.update(MATMUL_IO)
        data["artifact"]["external_data"] = [
            {
                "path": "weights.bin",
                "url": served.url("blobs/w"),
                "sha256": hashlib.sha256(WEIGHTS).hexdigest(),
                "size": len(WEIGHTS),
            }
        ]

    content = matmul_reading("weights.bin").SerializeToString()
    remote_version(tmp_path, served, content, "m/model.onnx", change=onnx_with_weights)
    site = tmp_path / "site"
    code, _, err = run("build", "--root", tmp_path, "--out", site)
    assert code == 0, err
    record = json.loads((site / "v1/models/remote/1.0.0/index.json").read_text())
    [weights] = record["artifact"]["external_data"]
    assert weights["path"] == "weights.bin" and weights["url"] == served.url("blobs/w")
    assert "href" not in weights
    page = (site / "models/remote/1.0.0/index.html").read_text()
    assert "weights.bin" in page and "curl -fgL" in page


@pytest.mark.parametrize("path", ["MODEL.ONNX", "m\u043edel.bin", "--output=x"])
def test_external_data_may_not_shadow_the_artifact_or_look_alike(
    tmp_path: Path, served: Served, path: str
) -> None:
    """Saved under one name (ignoring case) as the artifact, one file would replace the other
    after both verified; non-ASCII and option-like names are refused as in the repository."""
    served.files["blobs/w"] = WEIGHTS

    def shadowing(data: dict[str, Any]) -> None:
        data["format"] = "onnx"
        data.update(MATMUL_IO)
        data["artifact"]["external_data"] = [
            {
                "path": path,
                "url": served.url("blobs/w"),
                "sha256": hashlib.sha256(WEIGHTS).hexdigest(),
                "size": len(WEIGHTS),
            }
        ]

    content = matmul_reading("weights.bin").SerializeToString()
    remote_version(tmp_path, served, content, "m/model.onnx", change=shadowing)
    code, report = validate_json(tmp_path)
    assert code == 1 and "integrity.unverified-remote" in error_codes(report)
