"""`switchboard bench calls`: simulated callers following scenarios against a live agent.

`cli` is the command; `scenario` loads the caller scenarios (YAML in `scenarios/`),
`scripted_call` plays one over a caller's line, `call_timeline` judges its turns, `load` runs
a level of concurrent calls, `agent_under_test`, `agent_probe`, `agent_cpu` and
`agent_transcripts` start and read the agent, `summary` and `table` report a level;
`profile_stages` reads a py-spy profile of the agent by stage.
"""
