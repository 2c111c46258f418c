"""Benchmarks run as `puhui bench NAME`; each prints ratios against a baseline from the same run."""
