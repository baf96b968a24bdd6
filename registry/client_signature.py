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

from registry.client import FetchError, download, read_document, read_limited
from registry.signing import SIGNATURE_FILE, verify_folder

MAX_SIGNATURE = 1 << 20  # a model.sig is a few KiB; a root certificate too
MAX_ROOT = 1 << 20


def _signed_at(record: dict[str, Any]) -> dt.datetime:
    stamp = (record.get("signature") or {}).get("signed_at")
    try:
        return dt.datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return dt.datetime.now(dt.UTC)


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


def verify_signature(
    record: dict[str, Any],
    record_url: str,
    registry_base: str,
    staging: Path,
    trust_roots: list[Path] | None,
) -> str:
    """Download model.sig into `staging` (which holds the fetched files) and verify it; the
    signer's identity, or a FetchError naming what is wrong."""
    signature = record.get("signature") or {}
    source = signature.get("href") or signature.get("url")
    if not source or "sha256" not in signature:
        raise FetchError(f"{record['id']}: the record says it is signed but gives no model.sig")
    download(
        urllib.parse.urljoin(record_url, str(source)),
        staging / SIGNATURE_FILE,
        str(signature["sha256"]),
        min(int(signature.get("size", MAX_SIGNATURE)), MAX_SIGNATURE),
    )
    artifact = record["artifact"]
    with tempfile.TemporaryDirectory(prefix="modelreg-roots-") as scratch:
        if trust_roots:
            roots, origin = trust_roots, "--trust-root"
        else:
            roots = _published_roots(registry_base, Path(scratch))
            origin = "the trust roots the registry publishes"
        result = verify_folder(
            staging,
            artifact["path"],
            artifact["sha256"],
            (record.get("manifest") or {}).get("publisher", {}).get("identity"),
            roots,
            _signed_at(record),
            origin,
        )
    if not result.verified:
        raise FetchError(f"{record['id']}: {result.code}: {result.message}; nothing was kept")
    (staging / SIGNATURE_FILE).unlink()
    return str(result.identity)
