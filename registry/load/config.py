"""registry.yaml: the registry's own configuration, checked against schema/registry.json."""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from registry.errors import ConfigError
from registry.findings import Finding
from registry.governance.policy_config import GovernancePolicy, governance_from
from registry.load.layout import CONFIG_NAME
from registry.load.schemas import validate_against
from registry.load.storeconfig import S3Store, refuse_credentials, store_from
from registry.load.yamlsafe import DEFAULT_MAX_BYTES, load_yaml_file
from registry.sandbox.limits import SandboxLimits

DEFAULT_ARTIFACT_URL = "{base_url}artifacts/sha256/{sha256}"
MAX_PEM = 1 << 20  # a few CA certificates


@dataclass(frozen=True, slots=True)
class SiteBudget:
    """limits.site: what a site serving its own model files may hold (GitHub Pages' limits)."""

    max_mb: int = 1024
    max_file_mb: int = 100


@dataclass(frozen=True, slots=True)
class Limits:
    yaml_max_bytes: int = DEFAULT_MAX_BYTES
    sandbox: SandboxLimits = field(default_factory=SandboxLimits)
    site: SiteBudget = field(default_factory=SiteBudget)


@dataclass(frozen=True, slots=True)
class RegistryConfig:
    name: str = "Model registry"
    description: str = ""
    base_url: str = "http://localhost:8000/"
    artifact_url_template: str = DEFAULT_ARTIFACT_URL
    # Copy artifacts into the site (artifacts/<name>/<version>/...) so it serves them itself.
    publish_artifacts: bool = True
    events_page_size: int = 1000
    # Models per page of v1/index.json (and v1/index/<n>.json past the first page).
    index_page_size: int = 1000
    # Hosts (host or host:port) that artifact URLs may name: validation downloads from them.
    allowed_hosts: tuple[str, ...] = ()
    # New model names the maintainers accept although they read almost like an existing one.
    similar_names_allowed: tuple[str, ...] = ()
    limits: Limits = field(default_factory=Limits)
    governance: GovernancePolicy = field(default_factory=GovernancePolicy)
    # artifacts.store: None copies model files into the site; an S3 store holds them instead.
    store: S3Store | None = None


def _describe(findings: list[Finding]) -> str:
    return "\n".join(f"{f.file}:{f.line or 1}:{f.column or 1}: {f.message}" for f in findings)


def _limits(data: dict[str, Any]) -> Limits:
    return Limits(
        yaml_max_bytes=data.get("yaml_max_bytes", DEFAULT_MAX_BYTES),
        sandbox=SandboxLimits(**data.get("sandbox", {})),
        site=SiteBudget(**data.get("site", {})),
    )


ARTIFACT_PLACEHOLDERS = frozenset({"base_url", "name", "version", "path", "commit", "sha256"})


def check_artifact_template(template: str) -> None:
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise ConfigError(f"artifact_url_template {template!r} is malformed: {exc}") from None
    unknown = sorted(fields - ARTIFACT_PLACEHOLDERS)
    if unknown:
        raise ConfigError(
            f"artifact_url_template uses unknown placeholder(s) {', '.join(unknown)}; known: "
            f"{', '.join(sorted(ARTIFACT_PLACEHOLDERS))}"
        )


def normalized_base_url(url: str) -> str:
    """`url` ending with `/`; an error unless it is an http(s) URL."""
    if not url.lower().startswith(("http://", "https://")):
        raise ConfigError(f"base URL {url!r} must start with http:// or https://")
    return url.rstrip("/") + "/"


def check_trust_roots(root: Path, policy: GovernancePolicy) -> None:
    """Each trust root is a regular file of the repository (relative to registry.yaml, no
    symbolic link anywhere on its path) holding PEM certificates: it is published as it is."""
    for name in policy.trust_roots:
        relative = PurePosixPath(name)
        where = f"governance.trust_roots: {name!r}"
        if relative.is_absolute() or ".." in relative.parts:
            raise ConfigError(
                f"{where} must be a path relative to {CONFIG_NAME}, inside the repository "
                "(commit the CA certificate with the registry)"
            )
        path = root / relative
        linked = [p for p in [path, *path.parents] if root in p.parents and p.is_symlink()]
        if linked:
            raise ConfigError(f"{where}: {linked[0]} is a symbolic link; commit the file itself")
        if not path.is_file():
            raise ConfigError(
                f"{where} does not exist; commit the PEM certificate of the certificate "
                "authority there, or remove the entry"
            )
        _check_pem(path, where)


def _check_pem(path: Path, where: str) -> None:
    try:
        from cryptography import x509
    except ImportError as exc:
        raise ConfigError(
            f"{where}: reading certificates needs the signing extra: "
            "pip install 'modelreg[signing]'"
        ) from exc
    try:
        data = path.read_bytes()
        if len(data) > MAX_PEM or not x509.load_pem_x509_certificates(data):
            raise ValueError("no certificate")
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"{where} is not a PEM certificate file ({exc}); it must hold the CA's "
            "certificate(s), -----BEGIN CERTIFICATE-----"
        ) from exc


def load_config(root: Path) -> RegistryConfig:
    """The registry's configuration; defaults when registry.yaml is absent."""
    path = root / CONFIG_NAME
    if not path.is_file():
        return RegistryConfig()
    loaded, findings = load_yaml_file(path, CONFIG_NAME)
    if loaded is not None:
        if isinstance(loaded.data, dict):
            refuse_credentials(loaded.data.get("artifacts"))
        findings = validate_against("registry.json", loaded, CONFIG_NAME)
    if loaded is None or findings:
        raise ConfigError(f"{CONFIG_NAME} is invalid; fix it:\n{_describe(findings)}")
    data = loaded.data
    defaults = RegistryConfig()
    check_artifact_template(data.get("artifact_url_template", defaults.artifact_url_template))
    governance = governance_from(data.get("governance", {}))
    check_trust_roots(root, governance)
    store = store_from(data.get("artifacts", {}), data)
    return RegistryConfig(
        name=data["name"],
        description=data.get("description", ""),
        base_url=data.get("base_url", defaults.base_url),
        artifact_url_template=store.url_template
        if store
        else data.get("artifact_url_template", defaults.artifact_url_template),
        publish_artifacts=store is None
        and data.get("publish_artifacts", defaults.publish_artifacts),
        events_page_size=data.get("events_page_size", defaults.events_page_size),
        index_page_size=data.get("index_page_size", defaults.index_page_size),
        allowed_hosts=tuple(
            host.lower() for host in data.get("artifacts", {}).get("allowed_hosts", [])
        ),
        similar_names_allowed=tuple(data.get("similar_names_allowed", [])),
        governance=governance,
        limits=_limits(data.get("limits", {})),
        store=store,
    )
