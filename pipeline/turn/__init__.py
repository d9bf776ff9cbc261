"""End-of-turn detection: the turn engines (local batching, Triton client, failover), the
registry that builds one per process, the Pipecat analyzer that asks it, and the agent's stop
strategy (`stop_strategy`, with the hold it computes in `hold`)."""
