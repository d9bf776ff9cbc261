"""Simulated callers: phone lines into the agent and the audio a caller speaks and hears.

Used by the benchmarks (pipeline.bench) and the demo (pipeline.demo); imports neither.
The line constants are in `line`; `paced_line.PacedLine` is the base of every line
(`websocket_line.PhoneLine`: Twilio-format WebSocket media stream, `sip_line.SipPhoneLine`:
SIP and RTP); `voice` and `utterance_audio` make caller speech with piper,
`telephone_audio` turns it into the frames the agent hears, `transcribe` tells what the
agent said.
"""
