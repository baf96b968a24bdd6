"""Verifying a fetched version's model.sig on the consumer's side, before any file is kept.

The trust roots are the consumer's own (`--trust-root`) when given: then a compromised registry
cannot vouch for itself. Otherwise they are the roots the registry publishes (v1/trust-roots/),
which still catches an artifact replaced on a mirror or a CDN (artifact_url_template).
"""

from __future__ import annotations

import datetime as dt
import tempfile
import urllib.parse
from pathlib import Path
from typing import Any

from registry.client import FetchError, SignaturePolicy, download, read_document, read_limited
from registry.signature import verify_folder
from registry.signing import MAX_SIGNATURE, SIGNATURE_FILE

MAX_ROOT = 1 << 20  # a root certificate is a few KiB


def _signed_at(record: dict[str, Any]) -> dt.datetime:
    """When the registry judged the certificate's validity; now when the record says nothing
    usable (a time without a zone is read as UTC)."""
    stamp = (record.get("signature") or {}).get("signed_at")
    try:
        when = dt.datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return dt.datetime.now(dt.UTC)
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _published_roots(registry_base: str, into: Path) -> list[Path]:
    index_url = urllib.parse.urljoin(registry_base, "v1/index.json")
    links = (read_document(index_url).get("registry") or {}).get("trust_roots") or []
    roots = []
    for number, relative in enumerate(links, start=1):
        target = into / f"{number}.pem"
        url = urllib.parse.urljoin(index_url, str(relative))
        target.write_bytes(read_limited(url, MAX_ROOT, "certificate"))
        roots.append(target)
    return roots


def _expected_files(artifact: dict[str, Any]) -> dict[str, str]:
    files = {str(e.get("path")): str(e.get("sha256")) for e in artifact.get("external_data", [])}
    files[str(artifact.get("path"))] = str(artifact.get("sha256"))
    return files


def verify_signature(
    record: dict[str, Any],
    record_url: str,
    registry_base: str,
    staging: Path,
    trust: SignaturePolicy,
) -> str:
    """Download model.sig into `staging` (which holds the fetched files) and verify it; the
    signer's identity, or a FetchError naming what is wrong."""
    signature = record.get("signature") or {}
    source = signature.get("href") or signature.get("url")
    size = signature.get("size")
    if not source or not isinstance(signature.get("sha256"), str):
        raise FetchError(f"{record['id']}: the record says it is signed but gives no model.sig")
    if not isinstance(size, int) or not 0 < size <= MAX_SIGNATURE:
        raise FetchError(f"{record['id']}: the record gives model.sig an impossible size {size!r}")
    download(
        urllib.parse.urljoin(record_url, str(source)),
        staging / SIGNATURE_FILE,
        signature["sha256"],
        size,
    )
    identity = trust.identity or ((record.get("manifest") or {}).get("publisher") or {}).get(
        "identity"
    )
    with tempfile.TemporaryDirectory(prefix="modelreg-roots-") as scratch:
        if trust.trust_roots:
            roots, origin = trust.trust_roots, "--trust-root"
        else:
            roots = _published_roots(registry_base, Path(scratch))
            origin = "the trust roots the registry publishes"
        result = verify_folder(
            staging,
            _expected_files(record["artifact"]),
            identity,
            roots,
            _signed_at(record),
            origin,
        )
    if not result.verified:
        raise FetchError(f"{record['id']}: {result.code}: {result.message}; nothing was kept")
    (staging / SIGNATURE_FILE).unlink()
    return str(result.identity)
