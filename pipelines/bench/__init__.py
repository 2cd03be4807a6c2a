"""Benchmarks; each is a module: ``python -m pipelines.bench.bench_recommend --help``."""
