"""Caller audio from the phone line's rate up to the pipeline's, a packet in, a packet out.

In: 16-bit mono PCM chunks at a line rate (8 kHz G.711, 20 ms packets), the pipeline's input
rate. Out: each chunk at the pipeline's rate, at once, about 3 ms late (the filter's delay).

Why not Pipecat's stream resampler: soxr's stream (VHQ, and every quality but the crude
"quick" one) holds telephone audio back and hands it on in blocks of about 95 ms, so VAD,
Smart Turn and the ASR hear the caller up to 95 ms late. Upsampling by a whole factor needs
no such block: zero-stuff, then one low-pass FIR (scipy's firwin/lfilter) whose state carries
over from packet to packet. Rates that are not a whole multiple fall back to Pipecat's
stream resampler.
"""

import numpy as np
from pipecat.audio.resamplers.base_audio_resampler import BaseAudioResampler
from pipecat.audio.utils import create_stream_resampler
from scipy.signal import firwin, lfilter

TAPS_PER_PHASE = 48  # 97 taps for 8 -> 16 kHz: image rejection past 4.2 kHz, 3 ms of delay
PASSBAND = 0.95  # of the line's Nyquist frequency (telephone audio stops at 3.4 kHz anyway)


class LineUpsampler(BaseAudioResampler):
    """Stateful whole-factor upsampler for one call's caller audio."""

    def __init__(self) -> None:
        self._rates: tuple[int, int] | None = None
        self._taps = np.ones(1)
        self._state = np.zeros(0)
        self._fallback: BaseAudioResampler | None = None

    async def resample(self, audio: bytes, in_rate: int, out_rate: int) -> bytes:
        """`audio` at in_rate as the same stretch of audio at out_rate (bytes of int16)."""
        if in_rate == out_rate or not audio:
            return audio
        if out_rate % in_rate:
            self._fallback = self._fallback or create_stream_resampler()
            return await self._fallback.resample(audio, in_rate, out_rate)
        factor = out_rate // in_rate
        if self._rates != (in_rate, out_rate):
            self._design(in_rate, out_rate, factor)
        samples = np.frombuffer(audio, dtype=np.int16)
        stuffed = np.zeros(len(samples) * factor)
        stuffed[::factor] = samples
        out, self._state = lfilter(self._taps, 1.0, stuffed, zi=self._state)
        return np.clip(np.round(out), -32768, 32767).astype(np.int16).tobytes()

    def _design(self, in_rate: int, out_rate: int, factor: int) -> None:
        cutoff = PASSBAND * in_rate / 2
        self._taps = firwin(TAPS_PER_PHASE * factor + 1, cutoff, fs=out_rate) * factor
        self._state = np.zeros(len(self._taps) - 1)
        self._rates = (in_rate, out_rate)

    async def flush(self) -> bytes:
        """Start clean; nothing was held back (the filter's 3 ms tail is not worth a packet)."""
        self._rates = None
        return await self._fallback.flush() if self._fallback else b""

    async def reset(self) -> None:
        await self.flush()
