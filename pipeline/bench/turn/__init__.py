"""`switchboard bench turn`: stock Pipecat's per-call Smart Turn against the shared engines.

`cli` is the command; `load` measures one engine under load in a worker process,
`triton_target` gives the Triton phase its server (`turn_server_process`, a started
`switchboard turn-server`, which tests use too).
"""
