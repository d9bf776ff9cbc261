"""Call intake: the one way in for every call, whatever carries it.

`calls.CallIntake` (one per agent process) holds the orders and the one admission of every
carrier (allow-list, agent.max_calls places over all carriers, draining, refusal), and runs
each call's agent pipeline (`run_agent_call`). Beside it, one thin adapter per carrier admits
each call in its protocol's way, holds its place, turns the connection into a Pipecat
transport and hands it to the intake: `websocket` (Twilio media streams), `sip` (the SIP
server's handler), `audiosocket` (the Asterisk AudioSocket listener) and `webrtc` (browser
calls). The protocols themselves live in pipeline/telephony/. A new carrier is a new adapter
here.
"""
