"""The S3 API through boto3, for any S3-compatible store. boto3 is imported when a store is
first used (the `s3` extra), so validation and fetch never need it. Credentials come from the
standard AWS chain only (environment, profile, OIDC web identity): none is passed here."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from registry.load.storeconfig import S3Store
from registry.store.plan import RemoteObject, StoreError

MULTIPART_ETAG = re.compile(r'-[0-9]+"?$')
PAGE = 1000  # keys per listing request: S3's maximum
READ_SIZE = 1 << 20
# Content-addressed objects never change: caches may keep them for good. They are downloads,
# never pages: a browser renders none of them, whatever the bytes (as the site's _headers says).
OBJECT_HEADERS = {
    "ContentType": "application/octet-stream",
    "ContentDisposition": "attachment",
    "CacheControl": "public, max-age=31536000, immutable",
}
CHAIN = (
    "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or assume a role with "
    "OIDC web identity (aws-actions/configure-aws-credentials in CI)"
)
_HINTS = {
    "AccessDenied": "; the credentials need s3:ListBucket, s3:GetObject, s3:PutObject, "
    "s3:ListBucketMultipartUploads and s3:AbortMultipartUpload on the prefix",
    "NoSuchBucket": "; create the bucket, or fix artifacts.store.bucket in registry.yaml",
    "InvalidAccessKeyId": f"; {CHAIN}",
    "SignatureDoesNotMatch": f"; check the secret key ({CHAIN})",
    "ExpiredToken": "; the session expired: assume the role again",
}


def error_code(exc: Exception) -> str:
    """The S3 error code of a botocore ClientError ("" for anything else)."""
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


@contextlib.contextmanager
def failures(doing: str) -> Iterator[None]:
    """botocore's exceptions as StoreErrors that say what failed and what to do."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    try:
        yield
    except NoCredentialsError:
        raise StoreError(f"{doing}: no AWS credentials were found; {CHAIN}") from None
    except ClientError as exc:
        code = error_code(exc)
        message = exc.response.get("Error", {}).get("Message") or code
        hint = _HINTS.get(code, "")
        raise StoreError(f"{doing}: the store answered {code}: {message}{hint}") from None
    except BotoCoreError as exc:
        raise StoreError(f"{doing}: {exc}") from None


def make_client(store: S3Store, threads: int) -> Any:
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise StoreError(
            "publishing to an S3 store needs boto3: pip install 'modelreg[s3]'"
        ) from None
    config = Config(
        region_name=store.region,
        s3={"addressing_style": store.addressing_style},
        retries={"mode": "standard", "max_attempts": 5},
        max_pool_connections=threads + 2,
        connect_timeout=30,
        read_timeout=120,
        # The SHA-256 of every body is computed here and sent: no second checksum on top.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    # A session of its own: boto3's clients are thread-safe, its default session is not.
    return boto3.session.Session().client("s3", endpoint_url=store.endpoint_url, config=config)


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def _stored_sha256(head: dict[str, Any]) -> str | None:
    """The content's SHA-256 the store itself vouches for: its checksum of a single-part object,
    else None (then the bytes are read). Never the `sha256` metadata: anyone who can write the
    key can write that header too. A multipart object's checksum (its ETag ends `-<parts>`) is
    one over its parts' checksums, never the content's."""
    checksum = str(head.get("ChecksumSHA256") or "")
    multipart = MULTIPART_ETAG.search(str(head.get("ETag", ""))) is not None
    if checksum and not multipart and "-" not in checksum:
        with contextlib.suppress(ValueError):
            return base64.b64decode(checksum, validate=True).hex()
    return None


class Bucket:
    """One store's bucket and prefix, counting every request sent (retries included)."""

    def __init__(self, store: S3Store, threads: int = 8, client: Any = None) -> None:
        self.store = store
        self.client = client if client is not None else make_client(store, threads)
        self.requests: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.client.meta.events.register("before-send.s3", self._count)
        self.conditional = True  # whether the store honours If-None-Match on writes

    def _count(self, event_name: str = "", **_: Any) -> None:
        with self._lock:
            self.requests[event_name.rsplit(".", 1)[-1]] += 1

    def where(self, sha256: str) -> str:
        return f"s3://{self.store.bucket}/{self.store.key(sha256)}"

    def listing(self) -> dict[str, int] | None:
        """key -> size of every object under the prefix, PAGE keys a request; None when the
        credentials may not list (each key is then asked for alone)."""
        sizes: dict[str, int] = {}
        arguments = {"Bucket": self.store.bucket, "Prefix": self.store.keys, "MaxKeys": PAGE}
        with failures(f"listing {self.store.location}"):
            while True:
                try:
                    page = self.client.list_objects_v2(**arguments)
                except Exception as exc:
                    if error_code(exc) == "AccessDenied":
                        return None
                    raise
                sizes.update({item["Key"]: int(item["Size"]) for item in page.get("Contents", [])})
                if not page.get("IsTruncated"):
                    return sizes
                arguments["ContinuationToken"] = page["NextContinuationToken"]

    def head(self, sha256: str) -> RemoteObject | None:
        key = self.store.key(sha256)
        with failures(f"reading {self.where(sha256)}"):
            try:
                head = self.client.head_object(
                    Bucket=self.store.bucket, Key=key, ChecksumMode="ENABLED"
                )
            except Exception as exc:
                if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                    return None
                raise
        return RemoteObject(int(head["ContentLength"]), _stored_sha256(head))

    def content_sha256(self, sha256: str) -> str:
        """The SHA-256 of the object's bytes, downloaded (for a key that carries none)."""
        digest = hashlib.sha256()
        with failures(f"reading {self.where(sha256)}"):
            body = self.client.get_object(Bucket=self.store.bucket, Key=self.store.key(sha256))
            with contextlib.closing(body["Body"]) as stream:
                while data := stream.read(READ_SIZE):
                    digest.update(data)
        return digest.hexdigest()

    def incomplete_uploads(self) -> list[tuple[str, str]]:
        """(key, upload id) of every multipart upload under the prefix not completed."""
        found: list[tuple[str, str]] = []
        arguments = {"Bucket": self.store.bucket, "Prefix": self.store.keys}
        with failures(f"listing the incomplete uploads of {self.store.location}"):
            while True:
                page = self.client.list_multipart_uploads(**arguments)
                found += [(u["Key"], u["UploadId"]) for u in page.get("Uploads", [])]
                if not page.get("IsTruncated"):
                    return found
                arguments["KeyMarker"] = page["NextKeyMarker"]
                arguments["UploadIdMarker"] = page["NextUploadIdMarker"]

    def abort(self, key: str, upload_id: str) -> None:
        with failures(f"aborting the upload of s3://{self.store.bucket}/{key}"):
            try:
                self.client.abort_multipart_upload(
                    Bucket=self.store.bucket, Key=key, UploadId=upload_id
                )
            except Exception as exc:
                if error_code(exc) != "NoSuchUpload":  # gone already: what was wanted
                    raise

    def put(self, sha256: str, data: bytes, digest: bytes) -> bool:
        """Write a new object whose bytes S3 checks against `digest`; False when the key
        exists already (then nothing was written)."""
        arguments = {
            "Bucket": self.store.bucket,
            "Key": self.store.key(sha256),
            "Body": data,
            "ChecksumAlgorithm": "SHA256",
            "ChecksumSHA256": b64(digest),
            "Metadata": {"sha256": sha256},
            **OBJECT_HEADERS,
        }
        with failures(f"uploading {self.where(sha256)}"):
            return self.unless_exists(self.client.put_object, arguments)

    def unless_exists(self, write: Callable[..., Any], arguments: dict[str, Any]) -> bool:
        """`write` (a put or a completion) that never replaces an object: If-None-Match: *
        where the store honours it (S3, R2, MinIO; the HEAD before is the guard elsewhere)."""
        if self.conditional:
            try:
                write(**arguments, IfNoneMatch="*")
                return True
            except Exception as exc:
                code = error_code(exc)
                if code in ("PreconditionFailed", "412"):
                    return False
                if code not in ("NotImplemented", "501"):
                    raise
                self.conditional = False
        write(**arguments)
        return True
