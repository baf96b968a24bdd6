"""What every version's validation in one run shares: the root, the configuration, the sandbox,
the index of manifests, what is published, the cache, and the model files' inspections through
that cache."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from registry.errors import FormatError
from registry.formats import ModelInfo, handlers
from registry.infra.cache import Cache
from registry.infra.cachekey import key_of
from registry.load.config import RegistryConfig
from registry.load.layout import REPORTS_DIR
from registry.sandbox import Inspector
from registry.signing.bundle import CLAIMS_FILE, SIGNATURE_FILE
from registry.validate.lineage import ManifestIndex
from registry.validate.published import Published
from registry.validate.remote import RemoteFiles
from registry.validate.resultcache import folder_state
from registry.versions import MANIFEST_NAME

# Inspection failures that depend on the moment (a loaded machine), not only on the bytes.
TRANSIENT = frozenset({"format.crashed", "format.timeout"})
# Files a version folder may hold besides those its manifest names.
KNOWN_FILES = frozenset({MANIFEST_NAME, SIGNATURE_FILE, CLAIMS_FILE})
KNOWN_DIRS = frozenset({REPORTS_DIR})


@dataclass(frozen=True, slots=True)
class RunContext:
    """What every version's validation in one run shares."""

    root: Path
    config: RegistryConfig
    inspector: Inspector
    manifests: ManifestIndex
    published: Published  # `relative in published`: that version folder is published
    new_signatures: frozenset[str] = frozenset()  # folders whose model.sig changed since --base
    cache: Cache = dataclasses.field(default_factory=lambda: Cache(Path(), enabled=False))
    context: str = ""  # the configuration, for cache keys
    staging: Path = Path()  # where files named by URL are downloaded (outside the repository)
    # Each file's chunk digests: what a build publishes. `validate` alone without the cache
    # needs the whole-file digest only, half the hashing of a large model.
    chunks: bool = True

    def remote_files(self) -> RemoteFiles:
        return RemoteFiles(self.staging, self.config.allowed_hosts, self.cache.digest)

    def inspect(
        self, format_name: str, path: Path, sha256: str, folder: Path, opened: int | None = None
    ) -> ModelInfo:
        """The sandboxed inspection, from the cache when the same bytes were read before by the
        same handler version under the same limits. The other files of the version folder are
        part of the key: a model may read them (ONNX external data). Crashes and timeouts are
        not kept. `opened`: the descriptor the file was hashed through, for the sandbox to read
        (without the cache, `sha256` is not needed: the inspection may run while hashing)."""
        if not self.cache.enabled:
            return self.inspector.inspect(format_name, path, opened)
        handler = handlers()[format_name]
        beside = [
            (relative, sha)
            for relative, sha in folder_state(self.cache, folder)
            if relative not in KNOWN_FILES and relative.partition("/")[0] not in KNOWN_DIRS
        ]
        key = key_of("inspect", format_name, handler.version, sha256, beside, self.config.limits)
        found = self.cache.get("inspect", key)
        if found is not None:
            if "error" in found:
                raise FormatError(found["error"]["code"], found["error"]["message"])
            return ModelInfo.from_json(found["result"])
        try:
            info = self.inspector.inspect(format_name, path, opened)
        except FormatError as exc:
            if exc.code not in TRANSIENT:
                self.cache.put(
                    "inspect", key, {"error": {"code": exc.code, "message": exc.message}}
                )
            raise
        self.cache.put("inspect", key, {"result": info.to_json()})
        return info
