"""`switchboard demo`: one simulated phone call to the agent in CPU mode (or, with
--interactive, the browser client so a person can talk to it)."""
