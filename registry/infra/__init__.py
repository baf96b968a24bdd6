"""Infrastructure shared by every stage: Git, the cache, hashing, transport, parallelism, the
console."""
