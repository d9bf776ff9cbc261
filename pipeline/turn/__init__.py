"""End-of-turn detection: the turn engines (local batching, Triton client, failover), the
registry that builds one per process, and the Pipecat analyzer that asks it."""
