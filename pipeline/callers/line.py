"""The phone line's constants, for every simulated caller and what models its audio.

In: nothing. Out: the G.711 line rate, the 20 ms packet (in seconds and in line samples), and
the 16 kHz rate at which the agent's pipeline takes caller audio (and callers speak).
"""

LINE_RATE = 8000  # Hz: a G.711 phone line
PIPELINE_RATE = 16000  # Hz: the agent pipeline's input rate; caller speech is made at it
PACKET_S = 0.02  # one packet on the line, one frame in the pipeline: 20 ms
PACKET = int(LINE_RATE * PACKET_S)  # samples per packet on the line
