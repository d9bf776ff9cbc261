"""Benchmarks: CLI commands that print a table and write JSON, comparing against stock Pipecat.

One subpackage per `switchboard bench` command: `calls`, `turn`, `turn_quality`, `speech`.
Shared by them: `report` (percentiles, machine facts, tables, JSON), `plot` (PNGs),
`localhost` (free ports, HTTP probes) and `pipecat_logs`. Simulated callers come from
pipeline.callers.
"""
