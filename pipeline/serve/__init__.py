"""The agent process of `switchboard serve`: the listeners in one event loop
(agent_server.py), its HTTP app (health, the WebSocket carrier: app.py), the drain on SIGTERM
(drain.py), the startup written once for every process that takes calls (agent_process.py) and,
with `--cpu`, the local stand-ins (speech server, LLM server: cpu_mode.py) and the supervisor
that runs them. Calls themselves go through pipeline/intake/; the command line is
pipeline/commands/serve.py."""
