"""Builders shared by the tests, the benchmarks and the repository scripts."""
