"""`switchboard bench speech`: the speech server's real-time factors and the calls it carries.

`cli` is the command; `load` starts a server to measure and takes the measurements.
"""
