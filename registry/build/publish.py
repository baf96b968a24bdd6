"""`modelreg publish` (and `build --publish`): the files the records of a build point at,
uploaded to the registry's S3 store (registry.store) under their content-addressed keys."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

from registry.build.catalog import Catalog, PublishedVersion, build_catalog
from registry.infra.hashing import hash_file
from registry.infra.runoptions import RunOptions
from registry.load.config import RegistryConfig, load_config
from registry.load.storeconfig import S3Store
from registry.signing.bundle import CLAIMS_FILE, SIGNATURE_FILE
from registry.store.plan import StoreError, StoreFile
from registry.store.publish import PublishResult, publish


def require_store(config: RegistryConfig) -> S3Store:
    if config.store is None:
        raise StoreError(
            "registry.yaml has no S3 store (artifacts.store is `site`): the site serves the "
            "model files itself and there is nothing to publish; docs/storage.md says how to "
            "configure one"
        )
    return config.store


def _version_files(version: PublishedVersion) -> Iterator[StoreFile]:
    """The files of `version` the store serves: what the site would copy otherwise (the
    artifact and its external data when they are in the repository), and model.sig with its
    claims when the version is signed."""
    folder = version.manifest.folder
    where = f"models/{version.name}/{version.version}"
    art = version.manifest.artifact
    if art.path is not None:
        files = [(art.path, art.sha256, art.size)]
        files += [(e.path, e.sha256, e.size) for e in art.external_data]
        for relative, sha256, size in files:
            yield StoreFile(folder / relative, sha256, size, f"{where}/{relative}")
    if version.signature is not None and version.signature.present:
        for name in (SIGNATURE_FILE, CLAIMS_FILE):
            if (folder / name).is_file():
                digest = hash_file(folder / name)  # as the record does: the upload checks it
                yield StoreFile(folder / name, digest.sha256, digest.size, f"{where}/{name}")


def store_files(catalog: Catalog) -> list[StoreFile]:
    return [file for version in catalog.versions() for file in _version_files(version)]


def publish_catalog(catalog: Catalog, verify_existing: bool = False) -> PublishResult:
    return publish(require_store(catalog.config), store_files(catalog), verify_existing)


def publish_registry(
    root: Path,
    allow_invalid: bool = False,
    options: RunOptions | None = None,
    verify_existing: bool = False,
) -> PublishResult:
    """Validate the registry as a build does, then upload what its records point at."""
    from registry.build.site.builder import admit
    from registry.validate.run import validate_registry

    config = load_config(root)
    require_store(config)  # before validating: a registry without a store has nothing to send
    options = options or RunOptions()
    report = validate_registry(root, options=dataclasses.replace(options, shard=None))
    admit(report, allow_invalid)
    # The files depend on validation only: no event log (dates, blocks) is needed to list them.
    return publish_catalog(build_catalog(root, config, report), verify_existing)
