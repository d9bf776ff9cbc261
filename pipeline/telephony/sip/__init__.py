"""A SIP user agent server (RFC 3261) for calls from a PBX or SBC trunk.

`SipServer` listens on UDP/TCP, admits INVITEs from allowed peers, answers with PCMU/PCMA
via `pipeline.telephony.sdp`, carries audio on an `RtpLeg` and hands each call to a
`CallHandler` (the agent's, from pipeline/intake/sip.py, or `EchoHandler` for checks
without the agent); the calls it refuses go to an `on_not_started` hook.
"""
