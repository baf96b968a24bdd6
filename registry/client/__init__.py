"""The consumer side: resolve a published model version, fetch it and verify it.

`fetch` (RegistryClient) reads a published site through one transport (infra.transport), checks
chunks (chunks) and signatures (signature). It imports nothing of the validation engine.
"""

from registry.client.fetch import FetchOptions, Fetched, RegistryClient, Resolved, SignaturePolicy

__all__ = ["FetchOptions", "Fetched", "RegistryClient", "Resolved", "SignaturePolicy"]
