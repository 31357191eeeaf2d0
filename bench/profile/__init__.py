"""Benchmarks of the profile service."""
