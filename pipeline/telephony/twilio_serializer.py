"""Twilio's media-stream wire format, with the caller's audio upsampled packet by packet.

In: Twilio media-stream messages ("connected", "start", "media" events carrying base64 8 kHz
mu-law, "stop"). Out: Pipecat frames, each 20 ms media event as 20 ms of 16 kHz audio at once
(pipeline/telephony/line_upsampler.py), and the agent's audio back as "media" events ("clear"
when the caller barges in).
"""

from typing import Any

from pipecat.serializers.twilio import TwilioFrameSerializer

from pipeline.telephony.line_upsampler import LineUpsampler


class PromptTwilioSerializer(TwilioFrameSerializer):
    """Pipecat's Twilio serializer, but each 20 ms media event becomes 20 ms of 16 kHz audio
    at once: its stream resampler would hand the caller's audio on in ~95 ms blocks."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._input_resampler = LineUpsampler()  # Pipecat 1.14's name for it
