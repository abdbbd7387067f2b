"""Demo data for trying touchhub and for benchmarks (`touchhub demo seed`, first `serve`)."""

from hub.demo.seed import SeedResult, default_sizes, seed

__all__ = ["SeedResult", "default_sizes", "seed"]
