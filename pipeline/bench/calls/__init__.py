"""`switchboard bench calls`: simulated callers following scenarios against a live agent.

`cli` is the command; `scenario` loads the caller scenarios (YAML in `scenarios/`),
`scripted_call` plays one over a caller's line, `call_timeline` judges its turns, `load` runs
a level of concurrent calls, `agent_under_test`, `agent_probe` and `agent_transcripts` start
and read the agent, `summary` and `table` report a level.
"""
