"""Benchmarks for edgeseg: reference runners and comparison suites."""
