"""Chunked verification: the Merkle tree over 8 MiB chunks, chunks.json, and `modelreg fetch`
verifying each chunk, fetching a corrupted chunk again alone and resuming a cut download, over
HTTP range requests against a local server."""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pytest
from jsonschema import Draft202012Validator

from registry.build.site.server import RangeRequestHandler
from registry.client.download import PARTIAL_FOLDER
from registry.infra.hashing import hash_file_chunked
from registry.infra.merkle import CHUNK_SIZE, merkle_root
from registry.infra.runoptions import RunOptions
from registry.infra.schemadir import schema_dir
from registry.validate.run import validate_registry
from tests.factories.registries import write_version
from tests.helpers import commit_all, left_nothing, run

WEIGHTS = "weights.bin"
ID = "wide/1.0.0"


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def test_merkle_root_by_hand() -> None:
    a, b, c = sha(b"a"), sha(b"b"), sha(b"c")
    node = sha(b"\x01" + a + b)
    assert merkle_root([a.hex()]) == a.hex()
    assert merkle_root([a.hex(), b.hex()]) == node.hex()
    assert merkle_root([a.hex(), b.hex(), c.hex()]) == sha(b"\x01" + node + c).hex()
    assert merkle_root([]) == sha(b"").hex()


@pytest.mark.parametrize("size", [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 2 * CHUNK_SIZE])
def test_chunked_hashing_equals_hashlib(tmp_path: Path, size: int) -> None:
    data = np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8).tobytes()
    path = tmp_path / "file"
    path.write_bytes(data)
    found = hash_file_chunked(path)
    slices = [data[i : i + CHUNK_SIZE] for i in range(0, size, CHUNK_SIZE)] or [b""]
    assert found.sha256 == hashlib.sha256(data).hexdigest()
    assert found.size == size
    assert found.chunks == tuple(hashlib.sha256(s).hexdigest() for s in slices)


def _wide_model(folder: Path) -> None:
    """An ONNX model whose 20 MiB of weights (three chunks: 8 + 8 + 4 MiB) are external data."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    values = np.random.default_rng(7).standard_normal((64, 81920), dtype=np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "wide",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 81920])],
        [numpy_helper.from_array(values, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    folder.mkdir(parents=True)
    onnx.save_model(
        model, folder / "model.onnx", save_as_external_data=True, location=WEIGHTS, size_threshold=0
    )


def _reference(folder: Path, name: str) -> dict[str, Any]:
    data = (folder / name).read_bytes()
    return {"path": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("chunks") / "registry"
    root.mkdir()
    (root / "registry.yaml").write_text("name: Chunks\nbase_url: https://models.example.org/\n")
    folder = root / "models" / ID
    _wide_model(folder)
    manifest = {
        "schema_version": "1.1",
        "model_name": "wide",
        "version": "1.0.0",
        "framework": {"name": "onnx", "version": "1.17.0"},
        "format": "onnx",
        "artifact": {
            **_reference(folder, "model.onnx"),
            "external_data": [_reference(folder, WEIGHTS)],
        },
        "input_shape": [{"name": "x", "dtype": "float32", "shape": ["n", 64]}],
        "output_schema": [{"name": "y", "dtype": "float32", "shape": ["n", 81920]}],
        "license": "MIT",
        "intended_use": "A model large enough to be published in several chunks.",
        "publisher": {"name": "tests"},
        "risk_tier": "tier-1",
    }
    write_version(root, manifest)
    commit_all(root, "a wide model")
    out = root.parent / "site"
    code, _, err = run("build", "--root", root, "--out", out)
    assert code == 0, err
    return out


def served_file(site: Path, name: str) -> Path:
    """Where the site serves the version's file `name` (content-addressed, by its SHA-256)."""
    artifact = json.loads((site / "v1/models" / ID / "index.json").read_text())["artifact"]
    entry = next(e for e in [artifact, *artifact["external_data"]] if e["path"] == name)
    return site / "artifacts/sha256" / str(entry["sha256"])


def test_chunks_document_matches_the_files_and_the_record(site: Path) -> None:
    record = json.loads((site / "v1/models" / ID / "index.json").read_text())
    document = json.loads((site / "v1/models" / ID / "chunks.json").read_text())
    schema = json.loads((schema_dir() / "api/chunks.json").read_text())
    Draft202012Validator(schema).validate(document)
    assert record["links"]["chunks"].endswith("chunks.json")
    assert document["chunk_size"] == CHUNK_SIZE
    by_path = {entry["path"]: entry for entry in document["files"]}
    assert set(by_path) == {"model.onnx", WEIGHTS}
    for entry in by_path.values():
        data = served_file(site, entry["path"]).read_bytes()
        slices = [data[i : i + CHUNK_SIZE] for i in range(0, len(data), CHUNK_SIZE)]
        assert entry["chunks"] == [hashlib.sha256(s).hexdigest() for s in slices]
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert len(by_path[WEIGHTS]["chunks"]) == 3
    artifact = record["artifact"]
    assert artifact["merkle_root"] == by_path["model.onnx"]["root"]
    assert artifact["external_data"][0]["merkle_root"] == by_path[WEIGHTS]["root"]
    assert by_path[WEIGHTS]["root"] == merkle_root(by_path[WEIGHTS]["chunks"])


class FaultyServer(RangeRequestHandler):
    """Serves a site; can corrupt chunk 1 of the weights on some responses, or cut the first
    whole-file response after `cut_after` bytes. Records every Range header asked for."""

    ranges: list[str | None]
    weights: str  # the URL path the weights are served at (by their SHA-256)
    corrupt_responses = 0  # how many responses carrying chunk 1 come corrupted
    cut_after: int | None = None

    def log_message(self, format: str, *args: object) -> None:
        pass

    def copyfile(self, source: BinaryIO, outputfile: BinaryIO) -> None:  # type: ignore[override]
        if not self.path.endswith(type(self).weights):
            super().copyfile(source, outputfile)
            return
        wanted = self.headers.get("Range")
        type(self).ranges.append(wanted)
        start = int(wanted[6:].split("-")[0]) if wanted else 0
        data = source.read(self._remaining if self._remaining is not None else -1)
        if type(self).corrupt_responses and start <= CHUNK_SIZE < start + len(data):
            type(self).corrupt_responses -= 1
            position = CHUNK_SIZE + 1000 - start
            data = data[:position] + bytes([data[position] ^ 0xFF]) + data[position + 1 :]
        if type(self).cut_after is not None and wanted is None:
            data = data[: type(self).cut_after]
            type(self).cut_after = None
            self.close_connection = True
        outputfile.write(data)


@pytest.fixture
def server(site: Path) -> Iterator[tuple[str, type[FaultyServer]]]:
    weights = served_file(site, WEIGHTS).name
    handler_class = type("Handler", (FaultyServer,), {"ranges": [], "weights": weights})
    handler = functools.partial(handler_class, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", handler_class
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def partials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache folder of the test's own: cut downloads are kept there, outside the target."""
    monkeypatch.setenv("MODELREG_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / PARTIAL_FOLDER


def _fetch(url: str, to: Path) -> tuple[int, str]:
    code, _, err = run("fetch", "wide@1.0.0", "--registry", url, "--to", to)
    return code, err


def _same_files(site: Path, to: Path) -> None:
    for name in ("model.onnx", WEIGHTS):
        assert (to / name).read_bytes() == served_file(site, name).read_bytes()


def test_without_the_cache_the_build_hashes_the_chunks_and_validate_only_the_files(
    site: Path, tmp_path: Path
) -> None:
    """`validate --no-cache` publishes nothing, so it hashes each file once; a build without the
    cache still hashes every chunk, and publishes what a build with it does."""
    root = site.parent / "registry"
    code, out, err = run("validate", "--root", root, "--no-cache", "--format", "json")
    assert code == 0, err
    again = tmp_path / "site"
    code, _, err = run("build", "--root", root, "--out", again, "--no-cache")
    assert code == 0, err
    chunks = f"v1/models/{ID}/chunks.json"
    assert (again / chunks).read_bytes() == (site / chunks).read_bytes()
    weights = root / "models" / ID / WEIGHTS
    data = bytearray(weights.read_bytes())
    data[CHUNK_SIZE + 5] ^= 1  # one byte of the second chunk
    weights.write_bytes(bytes(data))
    try:
        code, out, _ = run("validate", "--root", root, "--no-cache")
        assert code == 1 and "integrity.sha256-mismatch" in out and WEIGHTS in out
    finally:
        data[CHUNK_SIZE + 5] ^= 1
        weights.write_bytes(bytes(data))


def test_chunk_digests_only_where_a_build_or_the_cache_keeps_them(
    site: Path, tmp_path: Path
) -> None:
    """validate alone without the cache computes no chunk digest; the build's validation, and a
    validation that fills the cache a build will read, compute the same ones."""
    root = site.parent / "registry"
    alone = validate_registry(root, options=RunOptions(cache=False), chunks=False)
    built = validate_registry(root, options=RunOptions(cache=False))
    cached = validate_registry(root, options=RunOptions(cache_dir=tmp_path), chunks=False)
    assert [dict(r.chunks) for r in alone.results] == [{}]
    assert [dict(r.chunks) for r in cached.results] == [dict(r.chunks) for r in built.results]
    assert set(built.results[0].chunks) == {"model.onnx", WEIGHTS}


def test_fetch_verifies_every_chunk(site: Path, server: tuple[str, type[FaultyServer]]) -> None:
    url, handler = server
    code, err = _fetch(url, site.parent / "plain")
    assert code == 0, err
    _same_files(site, site.parent / "plain")
    assert handler.ranges == [None]


def test_a_corrupted_chunk_is_fetched_again_alone(
    site: Path, tmp_path: Path, server: tuple[str, type[FaultyServer]], partials: Path
) -> None:
    url, handler = server
    handler.corrupt_responses = 1
    code, err = _fetch(url, tmp_path / "to")
    assert code == 0, err
    _same_files(site, tmp_path / "to")
    assert handler.ranges == [None, f"bytes={CHUNK_SIZE}-{2 * CHUNK_SIZE - 1}"]
    assert not any(partials.glob("*.part"))


def test_a_chunk_that_stays_corrupted_fails_and_keeps_nothing(
    tmp_path: Path, server: tuple[str, type[FaultyServer]]
) -> None:
    url, handler = server
    handler.corrupt_responses = 10
    code, err = _fetch(url, tmp_path / "to")
    assert code == 1
    assert f"chunk 1 (bytes {CHUNK_SIZE}-{2 * CHUNK_SIZE - 1}) does not match its SHA-256" in err
    assert handler.ranges == [None] + [f"bytes={CHUNK_SIZE}-{2 * CHUNK_SIZE - 1}"] * 3
    assert left_nothing(tmp_path / "to")


def test_a_cut_download_resumes_from_the_last_verified_chunk(
    site: Path, tmp_path: Path, server: tuple[str, type[FaultyServer]], partials: Path
) -> None:
    url, handler = server
    handler.cut_after = CHUNK_SIZE + CHUNK_SIZE // 2
    to = tmp_path / "to"
    code, err = _fetch(url, to)
    assert code == 1
    assert "interrupted after 1 of 3 chunks" in err or "stopped after 1 of 3 chunks" in err
    assert "run the same command to resume" in err
    partial = list(partials.glob("*.part"))
    assert [p.stat().st_size for p in partial] == [CHUNK_SIZE]  # only the verified chunk
    assert left_nothing(to)
    code, err = _fetch(url, to)
    assert code == 0, err
    _same_files(site, to)
    assert handler.ranges == [None, f"bytes={CHUNK_SIZE}-"]
    assert not any(partials.glob("*.part"))


def test_a_resumed_download_checks_what_it_kept(
    site: Path, tmp_path: Path, server: tuple[str, type[FaultyServer]], partials: Path
) -> None:
    url, handler = server
    handler.cut_after = CHUNK_SIZE + 10
    to = tmp_path / "to"
    assert _fetch(url, to)[0] == 1
    (partial,) = partials.glob("*.part")
    with partial.open("r+b") as handle:  # the kept chunk damaged on disk meanwhile
        handle.write(b"\0" * 16)
    code, err = _fetch(url, to)
    assert code == 0, err
    _same_files(site, to)
    assert handler.ranges == [None, None]  # started over: nothing kept was trusted


def test_the_preview_server_answers_range_requests(
    site: Path, server: tuple[str, type[FaultyServer]]
) -> None:
    record = json.loads((site / "v1/models" / ID / "index.json").read_text())
    url = server[0] + f"artifacts/sha256/{record['artifact']['sha256']}"
    data = (site / "artifacts/sha256" / record["artifact"]["sha256"]).read_bytes()

    def get(wanted: str) -> tuple[int, bytes, str | None]:
        request = urllib.request.Request(url, headers={"Range": wanted})  # noqa: S310 - http
        try:
            with urllib.request.urlopen(request) as response:  # noqa: S310
                return response.status, response.read(), response.headers["Content-Range"]
        except urllib.error.HTTPError as exc:
            return exc.code, b"", exc.headers["Content-Range"]

    assert get("bytes=10-19") == (206, data[10:20], f"bytes 10-19/{len(data)}")
    assert get("bytes=-10") == (
        206,
        data[-10:],
        f"bytes {len(data) - 10}-{len(data) - 1}/{len(data)}",
    )
    assert get(f"bytes={len(data)}-") == (416, b"", f"bytes */{len(data)}")
    assert get("items=1-2") == (416, b"", f"bytes */{len(data)}")


def _tampered_site(site: Path, tmp_path: Path, edit: Any) -> Path:
    """A copy of the site with its record or chunks.json changed by `edit(record, chunks)`."""
    import shutil

    copy = tmp_path / "site"
    shutil.copytree(site, copy)
    folder = copy / "v1/models" / ID
    record = json.loads((folder / "index.json").read_text())
    chunks = json.loads((folder / "chunks.json").read_text())
    edit(record, chunks)
    (folder / "index.json").write_text(json.dumps(record))
    (folder / "chunks.json").write_text(json.dumps(chunks))
    return copy


def _set_weights_sha(record: dict[str, Any], _: dict[str, Any], value: str) -> None:
    record["artifact"]["external_data"][0]["sha256"] = value


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            functools.partial(_set_weights_sha, value="../../../../victim/precious"),
            "artifact/external_data/0/sha256: '../../../../victim/precious' does not match",
        ),
        (
            functools.partial(_set_weights_sha, value="ab" * 32),
            "chunks.json does not match the record",
        ),
        (
            lambda _, chunks: chunks["files"][1]["chunks"].__setitem__(0, "zz"),
            "is not a valid chunks document: at files/1/chunks/0",
        ),
        (
            lambda _, chunks: chunks.__setitem__("chunk_size", "big"),
            "is not a valid chunks document: at chunk_size",
        ),
    ],
)
def test_a_hostile_record_or_chunk_list_is_refused(
    site: Path, tmp_path: Path, edit: Any, message: str
) -> None:
    tampered = _tampered_site(site, tmp_path, edit)
    to = tmp_path / "out" / "a" / "b"
    code, err = _fetch(str(tampered), to)
    assert code == 1, err
    assert message in err
    assert left_nothing(to)
    assert not (tmp_path / "victim").exists()


def test_a_missing_file_on_a_local_registry_is_a_clear_error(site: Path, tmp_path: Path) -> None:
    tampered = _tampered_site(site, tmp_path, lambda record, chunks: None)
    served_file(tampered, WEIGHTS).unlink()
    code, err = _fetch(tampered.as_uri(), tmp_path / "to")
    assert code == 1
    assert "cannot read" in err and WEIGHTS in err


def test_two_fetches_of_one_file_do_not_mix(site: Path, tmp_path: Path, partials: Path) -> None:
    import fcntl

    record = json.loads((site / "v1/models" / ID / "index.json").read_text())
    sha256 = record["artifact"]["external_data"][0]["sha256"]
    partial_dir = partials
    partial_dir.mkdir(parents=True)
    with (partial_dir / f"{sha256}.part.lock").open("w") as other:
        fcntl.flock(other, fcntl.LOCK_EX)  # another fetch at work
        code, err = _fetch(str(site), tmp_path / "to")
    assert code == 1
    assert "another fetch is downloading the same file" in err
    code, err = _fetch(str(site), tmp_path / "to")  # once it is done
    assert code == 0, err
    assert not any(partial_dir.glob("*.part*"))


@pytest.mark.parametrize("obstacle", ["file-as-target", "folder-as-file", "file-as-partial-dir"])
def test_a_target_that_cannot_be_written_is_a_clear_error(
    site: Path, tmp_path: Path, obstacle: str, partials: Path
) -> None:
    to = tmp_path / "to"
    if obstacle == "file-as-target":
        to.write_text("a file")
    elif obstacle == "folder-as-file":
        (to / WEIGHTS).mkdir(parents=True)
    else:
        partials.parent.mkdir(parents=True)
        partials.write_text("a file")
    code, err = _fetch(str(site), to)
    assert code == 1, err
    assert f"cannot write into {to}" in err
    assert "Traceback" not in err


def test_a_missing_file_on_a_server_is_not_a_resumable_interruption(
    site: Path, tmp_path: Path
) -> None:
    tampered = _tampered_site(site, tmp_path, lambda record, chunks: None)
    served_file(tampered, WEIGHTS).unlink()
    handler = functools.partial(RangeRequestHandler, directory=str(tampered))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        code, err = _fetch(f"http://127.0.0.1:{httpd.server_address[1]}/", tmp_path / "to")
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert code == 1
    assert "the server answered HTTP 404" in err and "resume" not in err
    assert left_nothing(tmp_path / "to")
