"""`artifacts.store` of registry.yaml: where the published model files live.

`site` (the default) copies them into the static site; an S3 store (AWS S3, Cloudflare R2,
MinIO, Ceph RGW, SeaweedFS, GCS interoperability) holds them under content-addressed keys
`<prefix>/sha256/<hex>` and the site keeps only metadata. Credentials never come from here:
registry.yaml is public, so `publish` takes them from the standard AWS chain.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from registry.errors import ConfigError

# Names that hold a secret in every S3 tool's configuration: refused with the reason, before
# the schema would call them merely unknown.
CREDENTIAL_NAME = re.compile(r"secret|access_?key|key_?id|token|password|credential", re.I)
CREDENTIALS_ADVICE = (
    "credentials never go into registry.yaml (it is published with the repository); "
    "`modelreg publish` takes them from the standard AWS chain: AWS_ACCESS_KEY_ID and "
    "AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or OIDC web identity (AWS_ROLE_ARN with "
    "AWS_WEB_IDENTITY_TOKEN_FILE, as aws-actions/configure-aws-credentials sets in CI)"
)


@dataclass(frozen=True, slots=True)
class S3Store:
    """An S3-compatible bucket; `public_base_url` is where consumers download its keys from
    (the bucket's own URL or a CDN in front of it), without a trailing `/`."""

    bucket: str
    public_base_url: str
    prefix: str = ""
    endpoint_url: str | None = None  # None: AWS S3 itself
    region: str | None = None  # None: from the AWS chain (AWS_REGION, the profile)
    addressing_style: str = "auto"  # path for MinIO and others without bucket subdomains

    @property
    def keys(self) -> str:
        """The folder of every content-addressed key: `<prefix>/sha256/`."""
        return f"{self.prefix}/sha256/" if self.prefix else "sha256/"

    def key(self, sha256: str) -> str:
        return self.keys + sha256

    def url(self, sha256: str) -> str:
        return f"{self.public_base_url}/{self.key(sha256)}"

    @property
    def url_template(self) -> str:
        """artifact_url_template's form of `url` (registry.build.catalog fills it)."""
        return f"{self.public_base_url}/{self.keys}{{sha256}}"

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.keys}"


def refuse_credentials(artifacts: Any) -> None:
    """A ConfigError when `artifacts.store` names anything like a credential."""
    store = artifacts.get("store") if isinstance(artifacts, Mapping) else None
    if not isinstance(store, Mapping):
        return
    named = sorted(str(name) for name in store if CREDENTIAL_NAME.search(str(name)))
    if named:
        raise ConfigError(f"artifacts.store.{named[0]}: {CREDENTIALS_ADVICE}")


def store_from(artifacts: Mapping[str, Any], data: Mapping[str, Any]) -> S3Store | None:
    """The store `artifacts.store` (schema-checked) describes; None for `site`. `data` is the
    whole registry.yaml: the two older keys that also say where files go must not contradict."""
    store = artifacts.get("store", "site")
    if store == "site":
        return None
    for key in ("artifact_url_template", "publish_artifacts"):
        if key in data:
            raise ConfigError(
                f"{key} and artifacts.store: s3 both say where model files are published; "
                f"remove {key} (with an S3 store, records point at the store's public_base_url)"
            )
    return S3Store(
        bucket=store["bucket"],
        public_base_url=str(store["public_base_url"]).rstrip("/"),
        prefix=str(store.get("prefix", "")).strip("/"),
        endpoint_url=store.get("endpoint_url"),
        region=store.get("region"),
        addressing_style=store.get("addressing_style", "auto"),
    )
