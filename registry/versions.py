"""Manifest schema versions and file names: constants the CLI needs without loading the engine."""

SUPPORTED_SCHEMA_VERSIONS = ("1.0", "1.1")
LATEST_SCHEMA_VERSION = SUPPORTED_SCHEMA_VERSIONS[-1]
MANIFEST_NAME = "manifest.yaml"
