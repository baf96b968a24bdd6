"""fetch and verify-log against a hostile server: only the registry's origin and declared hosts,
schemas before use, timeouts and a minimum rate, room checked before downloading, nothing left
behind, a signing certificate judged now unless the consumer pins the log."""

from __future__ import annotations

import datetime as dt
import functools
import http.server
import json
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tests.factories.manifests import VALID_REAL_MODELS, manifest_data
from tests.factories.registries import write_version
from tests.helpers import commit_all, left_nothing, run, sha256_of
from tests.pki import NOW, publisher_files

MODEL = VALID_REAL_MODELS["nmp.tflite"]
RECORD = "v1/models/plain/1.0.0/index.json"


class _Handler(http.server.SimpleHTTPRequestHandler):
    """The site as it is, except what `overrides` says for a path: bytes, a redirect, or a
    function that writes the answer itself (slow servers)."""

    overrides: ClassVar[dict[str, Any]] = {}
    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        path = self.path.split("?")[0].lstrip("/")
        self.seen.append(path)
        answer = self.overrides.get(path)
        if answer is None:
            super().do_GET()
        elif isinstance(answer, bytes):
            self.send_response(200)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
        elif isinstance(answer, str):
            self.send_response(302)
            self.send_header("Location", answer)
            self.end_headers()
        else:
            answer(self)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server(site: Path) -> Iterator[tuple[str, type[_Handler]]]:
    handler = type("Handler", (_Handler,), {"overrides": {}, "seen": []})
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(site))
    )
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", handler
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def bystander() -> Iterator[list[str]]:
    """Another service on loopback: a request reaching it is a request fetch should not make."""
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    requests.append(f"http://127.0.0.1:{httpd.server_address[1]}")  # its address, first
    yield requests
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("registry")
    (root / "registry.yaml").write_text("name: plain\n")
    write_version(root, manifest_data(MODEL, "plain", "1.0.0"), MODEL.path)
    commit_all(root, "one model")
    assert run("build", "--root", root, "--out", root / "site")[0] == 0
    return root / "site"


@pytest.fixture
def site(built: Path, tmp_path: Path) -> Path:
    """A copy of the built site the test may tamper with."""
    copy = tmp_path / "site"
    shutil.copytree(built, copy)
    return copy


def _edit(site: Path, relative: str, change: Callable[[Any], Any]) -> None:
    path = site / relative
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _point(**fields: Any) -> Callable[[dict[str, Any]], None]:
    """Change the record's artifact entry (without chunk digests, so only these checks apply)."""

    def change(record: dict[str, Any]) -> None:
        record["artifact"].pop("merkle_root", None)
        record["artifact"].update(fields)

    return change


def _fetch(registry: str | Path, to: Path, *extra: str) -> tuple[int, str, str]:
    return run("fetch", "plain", "--registry", registry, "--to", to, *extra)


# -- where fetch may go ---------------------------------------------------------------------------
def test_a_file_url_outside_a_local_registry_is_refused(site: Path, tmp_path: Path) -> None:
    passwd = Path("/etc/passwd")
    stolen = {"href": passwd.as_uri(), "sha256": sha256_of(passwd), "size": passwd.stat().st_size}
    _edit(site, RECORD, _point(**stolen))
    code, _, err = _fetch(site, tmp_path / "to")
    assert code == 1 and "may only name files inside it" in err
    assert left_nothing(tmp_path / "to")


def test_a_file_url_from_an_http_registry_is_refused(
    site: Path, tmp_path: Path, server: tuple[str, type[_Handler]]
) -> None:
    url, _ = server
    _edit(site, RECORD, _point(href="file:///etc/passwd"))
    code, _, err = _fetch(url, tmp_path / "to")
    assert code == 1 and "not on the registry's origin" in err and "Traceback" not in err


def test_no_request_leaves_the_origin(
    site: Path, tmp_path: Path, server: tuple[str, type[_Handler]], bystander: list[str]
) -> None:
    """An href to another service (SSRF), and a redirect to it: neither is followed."""
    url, handler = server
    elsewhere = bystander[0]
    _edit(site, RECORD, _point(href=f"{elsewhere}/admin"))
    code, _, err = _fetch(url, tmp_path / "a")
    assert code == 1 and "refusing to follow" in err
    _edit(site, RECORD, _point(href="../../../../moved"))
    handler.overrides["moved"] = f"{elsewhere}/admin"
    code, _, err = _fetch(url, tmp_path / "b")
    assert code == 1 and "refusing to follow" in err
    assert bystander == [elsewhere], "a request reached another service"
    assert left_nothing(tmp_path / "a") and left_nothing(tmp_path / "b")


def test_declared_artifact_hosts_are_followed_over_https_only(
    site: Path, tmp_path: Path, server: tuple[str, type[_Handler]], served: Any
) -> None:
    """The registry's v1/index.json declares where its files may be; fetch goes there (https)."""
    url, _ = server
    served.files["blob"] = MODEL.path.read_bytes()
    _edit(site, RECORD, _point(href=served.url("blob")))
    code, _, err = _fetch(url, tmp_path / "a")
    assert code == 1 and "none)" in err  # not declared
    _edit(site, "v1/index.json", lambda d: d["registry"].update(artifact_hosts=[served.host]))
    code, _, err = _fetch(url, tmp_path / "b")
    assert code == 0, err
    assert (tmp_path / "b" / MODEL.file).read_bytes() == MODEL.path.read_bytes()


# -- documents are what their schema says -----------------------------------------------------
@pytest.mark.parametrize(
    ("document", "change", "message"),
    [
        ("v1/models/plain/index.json", lambda d: d.update(versions="1.0.0"), "at versions"),
        ("v1/models/plain/index.json", lambda d: d.update(versions=[["1.0.0"]]), "at versions/0"),
        (RECORD, lambda d: d["artifact"].pop("size"), "'size' is a required property"),
        (RECORD, lambda d: d.update(status=["published"]), "at status"),
        ("v1/index.json", lambda d: d.update(registry="x"), "at registry"),
        (RECORD, lambda d: d["artifact"].update(external_data=[dict(d["artifact"])]), ""),
    ],
)
def test_a_malformed_document_is_a_clear_error(
    site: Path, tmp_path: Path, document: str, change: Callable[[Any], Any], message: str
) -> None:
    _edit(site, document, change)
    code, _, err = _fetch(site, tmp_path / "to")
    assert code == 1, err
    assert message in err and "Traceback" not in err
    assert left_nothing(tmp_path / "to")


def test_deep_nesting_is_a_clear_error(site: Path, tmp_path: Path) -> None:
    (site / RECORD).write_text("[" * 100_000 + "]" * 100_000)
    code, _, err = _fetch(site, tmp_path / "to")
    assert code == 1 and "Traceback" not in err
    assert "not JSON" in err or "nests too deeply" in err or "not a valid" in err


def test_the_artifact_named_twice_leaves_nothing(site: Path, tmp_path: Path) -> None:
    def twice(record: dict[str, Any]) -> None:
        art = record["artifact"]
        art["external_data"] = [{k: art[k] for k in ("path", "sha256", "size", "url", "href")}]

    _edit(site, RECORD, twice)
    code, _, err = _fetch(site, tmp_path / "to")
    assert code == 1 and "names the file" in err and "twice" in err
    assert left_nothing(tmp_path / "to")


# -- slow servers, big files ------------------------------------------------------------------
def _trickle(handler: http.server.BaseHTTPRequestHandler) -> None:
    """Declare the whole file, then send a byte every 0.3 s."""
    handler.send_response(200)
    handler.send_header("Content-Length", str(MODEL.path.stat().st_size))
    handler.end_headers()
    try:
        for byte in MODEL.path.read_bytes()[:100]:
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            time.sleep(0.3)
    except (BrokenPipeError, ConnectionResetError):
        pass


def test_a_server_that_trickles_is_cut_off(
    site: Path, tmp_path: Path, server: tuple[str, type[_Handler]]
) -> None:
    url, handler = server
    record = json.loads((site / RECORD).read_text())
    artifact = record["artifact"]["href"].split("/")[-1]
    handler.overrides[f"artifacts/sha256/{artifact}"] = _trickle
    started = time.monotonic()
    code, _, err = _fetch(url, tmp_path / "to", "--timeout", "1")
    assert code == 1 and "under the minimum" in err
    assert time.monotonic() - started < 10
    assert left_nothing(tmp_path / "to")


def test_room_is_checked_before_downloading(
    site: Path, tmp_path: Path, server: tuple[str, type[_Handler]]
) -> None:
    url, handler = server
    _edit(site, RECORD, _point(size=1 << 40))
    code, _, err = _fetch(url, tmp_path / "a")
    assert code == 1 and "free; nothing was downloaded" in err
    code, _, err = _fetch(url, tmp_path / "b", "--max-size", "1K")
    assert code == 1 and "over --max-size 1024" in err
    assert not any(p.startswith("artifacts/") for p in handler.seen)
    assert left_nothing(tmp_path / "a") and left_nothing(tmp_path / "b")


def test_max_size_takes_units(site: Path, tmp_path: Path) -> None:
    assert _fetch(site, tmp_path / "to", "--max-size", "20M")[0] == 0
    code, _, err = _fetch(site, tmp_path / "x", "--max-size", "lots")
    assert code == 2 and "not a size" in err


# -- the log, pinned --------------------------------------------------------------------------
def _rechained(site: Path) -> None:
    """Every event rewritten (a new author) and chained again: a log that verifies on its own."""
    from registry.eventlog.chain import Event, chain
    from registry.eventlog.chain import Record as EventRecord

    index = json.loads((site / "v1/events.json").read_text())
    page_path = site / "v1" / index["pages"][0]["url"]
    page = json.loads(page_path.read_text())
    records = [
        EventRecord(
            e["type"],
            e["model"],
            e["version"],
            e["commit"],
            "mallory",
            e["timestamp"],
            e["payload"],
        )
        for e in page["events"]
    ]
    events = [e.to_json() for e in chain(records)]
    page["events"] = events
    page_path.write_text(json.dumps(page))
    index["events"] = events[-len(index["events"]) :] if index["events"] else []
    index["head"] = events[-1]["hash"]
    (site / "v1/events.json").write_text(json.dumps(index))
    _edit(site, "v1/log/head.json", lambda h: h.update(head=events[-1]["hash"]))
    assert isinstance(Event.from_json(events[0]), Event)


def test_verify_log_pins_a_head_and_a_previous_copy(site: Path, tmp_path: Path) -> None:
    head = site / "v1/log/head.json"
    code, out, _ = run("verify-log", head)
    assert code == 0
    pin = out.split("head ")[1].split()[0]
    previous = tmp_path / "previous"
    shutil.copytree(site, previous)
    assert run("verify-log", head, "--expect-head", pin)[0] == 0
    assert run("verify-log", head, "--previous", previous / "v1/log/head.json")[0] == 0
    _rechained(site)
    assert run("verify-log", head)[0] == 0  # intact on its own: that is the point of pinning
    code, out, _ = run("verify-log", head, "--expect-head", pin)
    assert code == 1 and "the log was rewritten" in out
    code, out, _ = run("verify-log", head, "--previous", previous / "v1/log/head.json")
    assert code == 1 and "does not extend the previous log" in out
    code, _, err = run("verify-log", head, "--expect-head", "1:abc")
    assert code == 2 and "SEQ:HASH" in err


def test_fetch_with_a_pinned_log(site: Path, tmp_path: Path) -> None:
    pin = run("verify-log", site / "v1/log/head.json")[1].split("head ")[1].split()[0]
    assert _fetch(site, tmp_path / "a", "--log-head", pin)[0] == 0
    seq, _, digest = pin.partition(":")
    code, _, err = _fetch(site, tmp_path / "b", "--log-head", f"{seq}:{'0' * 64}")
    assert code == 1 and "does not hold --log-head" in err
    code, _, err = _fetch(site, tmp_path / "c", "--log-head", f"{int(seq) + 5}:{digest}")
    assert code == 1 and "not the pinned seq" in err
    assert all(left_nothing(tmp_path / n) for n in "bc")


# -- signing time -----------------------------------------------------------------------------
def _signed_registry(tmp_path: Path, signed_days_ago: int) -> tuple[Path, Any]:
    """A tier-1 version signed with a certificate that expired 10 days ago, committed (with its
    manifest, in one commit of the branch) `signed_days_ago` days ago."""
    from registry.signing.sign import sign_folder

    day = dt.timedelta(days=1)
    pki = publisher_files(tmp_path / "pki", "publisher@example.org", NOW - 60 * day, NOW - 10 * day)
    root = tmp_path / "registry"
    (root / "ca").mkdir(parents=True)
    shutil.copyfile(pki.root, root / "ca/root.pem")
    (root / "registry.yaml").write_text("name: signed\ngovernance:\n  trust_roots: [ca/root.pem]\n")
    data = manifest_data(MODEL, "plain", "1.0.0")
    data["publisher"]["identity"] = "publisher@example.org"
    folder = write_version(root, data, MODEL.path)
    sign_folder(folder, pki.key, pki.certificate, [pki.chain], [MODEL.file])
    stamp = (NOW - signed_days_ago * day).strftime("%Y-%m-%dT%H:%M:%SZ")
    commit_all(root, "signed while the certificate was valid", stamp)
    return root, pki


def test_fetch_judges_the_certificate_now_unless_the_log_is_pinned(tmp_path: Path) -> None:
    root, pki = _signed_registry(tmp_path, 30)
    site = tmp_path / "site"
    assert run("build", "--root", root, "--out", site)[0] == 0
    record = json.loads((site / RECORD).read_text())
    assert record["signature"]["verified"] is True  # valid when it entered the registry
    code, _, err = _fetch(site, tmp_path / "a", "--trust-root", pki.root)
    assert code == 1 and "signing.expired" in err and "judged at now" in err
    _edit(site, RECORD, lambda r: r["signature"].update(signed_at="2000-01-01T00:00:00Z"))
    code, _, err = _fetch(site, tmp_path / "b", "--trust-root", pki.root)
    assert code == 1 and "signing.expired" in err  # the server's time is never taken
    pin = run("verify-log", site / "v1/log/head.json")[1].split("head ")[1].split()[0]
    code, out, err = _fetch(site, tmp_path / "c", "--trust-root", pki.root, "--log-head", pin)
    assert code == 0, err
    assert "files signed, claims unsigned" in out
    assert all(left_nothing(tmp_path / n) for n in "ab")


def test_a_pinned_log_refuses_other_files_than_it_published(tmp_path: Path) -> None:
    """A hostile server swaps the files (and signs them with the expired key): the pinned log's
    publishing event names other digests, so its old time is not lent to them."""
    root, pki = _signed_registry(tmp_path, 30)
    site = tmp_path / "site"
    assert run("build", "--root", root, "--out", site)[0] == 0
    pin = run("verify-log", site / "v1/log/head.json")[1].split("head ")[1].split()[0]
    other = VALID_REAL_MODELS["okay_nabu.tflite"].path.read_bytes()
    target = site / "artifacts/sha256" / sha256_of(VALID_REAL_MODELS["okay_nabu.tflite"].path)
    target.write_bytes(other)

    href = f"../../../../artifacts/sha256/{target.name}"
    _edit(site, RECORD, _point(sha256=target.name, size=len(other), href=href))
    code, _, err = _fetch(site, tmp_path / "a", "--trust-root", pki.root, "--log-head", pin)
    assert code == 1 and "not the ones the pinned log published" in err
    assert left_nothing(tmp_path / "a")
