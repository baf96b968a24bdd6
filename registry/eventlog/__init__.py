"""The registry's audit log: the hash chain, derived from Git history, published, read back,
replayed."""
