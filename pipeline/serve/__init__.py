"""`switchboard serve`: the agent process (calls over WebSocket, health, metrics) and, with
`--cpu`, the supervisor of its local stand-ins (speech server, LLM server)."""
