"""`switchboard bench turn-engine`: the turn engine driven directly, without Pipecat in the loop.

cli.py parses and prints, load.py drives the engine (closed-loop submitters or open-loop
Poisson arrivals on event loops in this process), segments.py builds the mixed-length turns,
host_only_runner.py is the runner that does everything but the model.
"""
