"""The consumer side: resolve a published model version, fetch it and verify it.

`fetch` (RegistryClient) reads a published site through the one transport (infra.transport),
streams files (download), checks chunks (chunks) and signatures (signature). It imports nothing
of the validation engine: only leaf types, infra's transport, hashing and merkle, signing's
bundle and verify, and the event log's chain, pin and published-log reader.
"""

from registry.client.fetch import RegistryClient
from registry.client.types import Fetched, FetchOptions, Resolved, SignaturePolicy

__all__ = ["FetchOptions", "Fetched", "RegistryClient", "Resolved", "SignaturePolicy"]
