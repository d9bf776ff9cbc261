"""switchboard's agent side: settings, CLI, speech server, turn engine and analyzer, benchmarks."""
