"""Telephony ingress: calls from a PBX or SBC as SIP + G.711 RTP, or from Asterisk AudioSocket.

Each leg is a `CallMedia` (8 kHz 16-bit PCM both ways) that `PhoneMediaTransport` turns into
a Pipecat transport, so every call runs the same pipeline as a WebSocket call.
"""
