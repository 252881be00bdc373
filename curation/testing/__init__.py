"""Harnesses for tests and benchmarks: the kill-and-resume harness."""
