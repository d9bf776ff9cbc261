"""Benchmarks: CLI commands that print a table and write JSON, comparing against stock Pipecat."""
