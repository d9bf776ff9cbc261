"""Telephony protocols: SIP + G.711 RTP from a PBX or SBC, Asterisk AudioSocket, Twilio
media streams.

Each phone leg is a `CallMedia` (8 kHz 16-bit PCM both ways) that `PhoneMediaTransport` turns
into a Pipecat transport; the SIP server reports each call to a `CallHandler` and the calls
it refuses to a hook. Nothing here knows the agent: pipeline/intake/ runs the calls.
"""
