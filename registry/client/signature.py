"""Verifying a fetched version's model.sig on the consumer's side, before any file is kept.

The trust roots are the consumer's own (`--trust-root`) when given: then a compromised registry
cannot vouch for itself. Otherwise they are the roots the registry publishes (v1/trust-roots/),
which still catches an artifact replaced on a mirror or a CDN (artifact_url_template).

The signing certificate is judged now: the time a record states is the server's word. Only when
the consumer pins the registry's log (`--log-head SEQ:HASH`) is it judged when model.sig entered
the registry: the time of the pinned log's event for the commit that brought it. With a pin, the
record's files must be the ones the pinned log published, signed or not (pinned_publication).
"""

from __future__ import annotations

import datetime as dt
import tempfile
import urllib.parse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from registry.client.stream import stream_to
from registry.client.types import Resolved, SignaturePolicy
from registry.eventlog.pin import PUBLISHING, LogPin, event_time, pinned_events, published_digests
from registry.infra.transport import FetchError, Transport
from registry.signing.bundle import (
    CLAIMS_FILE,
    MAX_CLAIMS,
    MAX_SIGNATURE,
    SIGNATURE_FILE,
    claims_of,
)
from registry.signing.verify import verify_folder

MAX_ROOT = 1 << 20  # a root certificate is a few KiB


def _published_roots(transport: Transport, index: dict[str, Any], into: Path) -> list[Path]:
    index_url = urllib.parse.urljoin(transport.base, "v1/index.json")
    roots = []
    for number, relative in enumerate(index["registry"]["trust_roots"], start=1):
        target = into / f"{number}.pem"
        url = urllib.parse.urljoin(index_url, relative)
        target.write_bytes(transport.read(url, MAX_ROOT, "certificate"))
        roots.append(target)
    return roots


def _expected_files(artifact: dict[str, Any]) -> dict[str, str]:
    files = {e["path"]: e["sha256"] for e in artifact["external_data"]}
    files[str(artifact["path"])] = artifact["sha256"]
    return files


def _download_signed(
    transport: Transport, resolved: Resolved, entry: dict[str, Any], target: Path, limit: int
) -> None:
    source = entry.get("href") or entry.get("url")
    size = entry.get("size")
    if not source or not isinstance(size, int) or not 0 < size <= limit:
        raise FetchError(f"{resolved.id}: the record gives {target.name} no location or size")
    stream_to(transport, urllib.parse.urljoin(resolved.url, source), target, entry["sha256"], size)


def pinned_publication(
    transport: Transport, resolved: Resolved, log_head: str
) -> list[Mapping[str, Any]]:
    """The events of the version up to the consumer's pin, once the log holds the pin and its
    publishing event names exactly the record's files."""
    from registry.eventlog.published import LogUnavailable, load_published_log, log_problem

    pin = LogPin.parse(log_head, "--log-head")
    head_url = urllib.parse.urljoin(transport.base, "v1/log/head.json")
    try:
        log = load_published_log(head_url, transport)
    except LogUnavailable as exc:
        raise FetchError(f"cannot read the registry's log to check --log-head: {exc}") from None
    problem = log_problem(log) or pin.problem(log.events)
    if problem is not None:
        raise FetchError(f"the registry's log does not hold --log-head {log_head}: {problem}")
    record = resolved.record
    if resolved.alias is not None:
        _check_pinned_alias(log.events, pin.seq, record, resolved.alias)
    events = pinned_events(log.events, pin, record["name"], record["version"])
    published = [e for e in events if e.get("type") in PUBLISHING]
    if not published:
        raise FetchError(
            f"the log up to the pinned seq {pin.seq} does not publish {resolved.id}: pin a "
            "newer head (modelreg verify-log prints it)"
        )
    if published_digests(published[-1]) != _expected_files(record["artifact"]):
        raise FetchError(
            f"{resolved.id}: the record's files are not the ones the pinned log published "
            f"(event {published[-1]['seq']}): the registry is broken or hostile; nothing was kept"
        )
    return events


def _check_pinned_alias(
    events: Sequence[Mapping[str, Any]], seq: int, record: Mapping[str, Any], alias: str
) -> None:
    """The alias must name the record's version in the pinned log too (its last alias event up
    to the pin), not only in the registry's aliases.json, which the pin does not cover."""
    named = None
    for event in events:
        if event.get("seq", 0) > seq:
            break
        payload = event.get("payload") or {}
        if (
            str(event.get("type", "")).startswith("Alias")
            and event.get("model") == record["name"]
            and payload.get("alias") == alias
        ):
            named = payload.get("to")
    if named != record["version"]:
        raise FetchError(
            f"{record['name']}@{alias}: the registry's aliases.json names {record['version']}, "
            f"but the pinned log (up to seq {seq}) names {named or 'no version'}: the registry is "
            "broken or hostile, or the alias moved after the pin (pin a newer head); nothing "
            "was kept"
        )


def _signing_time(
    record: dict[str, Any], pinned: list[Mapping[str, Any]] | None
) -> tuple[dt.datetime, str]:
    """When the certificate must have been valid, and where that time comes from: now, or the
    pinned log's event of the commit that brought model.sig."""
    now = dt.datetime.now(dt.UTC)
    if pinned is None:
        return now, "now"
    commit = record["signature"].get("commit")
    brought = next((e for e in pinned if commit and e.get("commit") == commit), None)
    if brought is None:
        return now, "now (the pinned log has no event of the commit that brought model.sig)"
    return event_time(
        brought
    ), f"{brought['timestamp']}, from event {brought['seq']} of the pinned log"


def verify_signature(
    transport: Transport,
    index: dict[str, Any],
    resolved: Resolved,
    staging: Path,
    trust: SignaturePolicy,
    pinned: list[Mapping[str, Any]] | None,
) -> tuple[str, bool]:
    """Download model.sig (and the claims it signs) into `staging`, which holds the fetched
    files, and verify them; the signer's identity and whether the claims were signed."""
    record = resolved.record
    signature = record["signature"]
    if not isinstance(signature.get("sha256"), str):
        raise FetchError(f"{record['id']}: the record says it is signed but gives no model.sig")
    _download_signed(transport, resolved, signature, staging / SIGNATURE_FILE, MAX_SIGNATURE)
    if signature.get("claims"):
        _download_signed(
            transport, resolved, signature["claims"], staging / CLAIMS_FILE, MAX_CLAIMS
        )
    identity = trust.identity or record["manifest"]["publisher"].get("identity")
    expected = _expected_files(record["artifact"])
    claims = claims_of(record["name"], record["version"], identity, expected)
    when, source = _signing_time(record, pinned)
    with tempfile.TemporaryDirectory(prefix="modelreg-roots-") as scratch:
        if trust.trust_roots:
            roots, origin = trust.trust_roots, "--trust-root"
        else:
            roots = _published_roots(transport, index, Path(scratch))
            origin = "the trust roots the registry publishes"
        result = verify_folder(staging, expected, identity, roots, when, origin, claims)
    if not result.verified:
        raise FetchError(
            f"{record['id']}: {result.code}: {result.message} (certificate judged at {source}); "
            "nothing was kept"
        )
    for name in (SIGNATURE_FILE, CLAIMS_FILE):
        (staging / name).unlink(missing_ok=True)
    return str(result.identity), result.claims
