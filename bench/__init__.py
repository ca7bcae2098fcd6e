"""Benchmarks of the console against real servers; run each with ``python -m bench.<name>``."""
