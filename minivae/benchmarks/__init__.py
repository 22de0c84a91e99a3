"""Benchmarks that print figures: ``minivae bench step`` and ``minivae bench kernels``."""
