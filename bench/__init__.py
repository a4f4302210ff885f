"""The benchmark: load generator, runner, baselines and bulk data (see README.md)."""
