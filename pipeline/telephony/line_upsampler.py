"""Caller audio from the phone line's rate up to the pipeline's, a packet in, a packet out.

In: 16-bit mono PCM chunks at a line rate (8 kHz G.711, 20 ms packets), the pipeline's input
rate. Out: each chunk at the pipeline's rate, at once, about 3 ms late (the filter's delay).

Why not Pipecat's stream resampler: soxr's stream (VHQ, and every quality but the crude
"quick" one) holds telephone audio back and hands it on in blocks of about 95 ms, so VAD,
Smart Turn and the ASR hear the caller up to 95 ms late. Upsampling by a whole factor needs
no such block: zero-stuff, then one low-pass FIR (scipy's firwin) whose input history
carries over from packet to packet. The filter runs in polyphase form: each output phase
is the line samples times that phase's share of the taps (the stuffed zeros are never
multiplied), one np.convolve per phase. Rates that are not a whole multiple fall back to
Pipecat's stream resampler.
"""

import numpy as np
from pipecat.audio.resamplers.base_audio_resampler import BaseAudioResampler
from pipecat.audio.utils import create_stream_resampler
from scipy.signal import firwin

TAPS_PER_PHASE = 48  # 97 taps for 8 -> 16 kHz: image rejection past 4.2 kHz, 3 ms of delay
PASSBAND = 0.95  # of the line's Nyquist frequency (telephone audio stops at 3.4 kHz anyway)


class LineUpsampler(BaseAudioResampler):
    """Stateful whole-factor upsampler for one call's caller audio."""

    def __init__(self) -> None:
        self._rates: tuple[int, int] | None = None
        self._phases: list[np.ndarray] = []  # each output phase's share of the taps
        self._history = np.zeros(0)  # the last line samples, window - 1 of them
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
        line = np.frombuffer(audio, dtype=np.int16)
        samples = np.concatenate((self._history, line))
        self._history = samples[len(line) :]
        out = np.empty(len(line) * factor)
        for phase, taps in enumerate(self._phases):  # output q * factor + phase
            out[phase::factor] = np.convolve(samples, taps, "valid")
        np.rint(out, out=out)
        return np.clip(out, -32768, 32767, out=out).astype(np.int16).tobytes()

    def _design(self, in_rate: int, out_rate: int, factor: int) -> None:
        cutoff = PASSBAND * in_rate / 2
        taps = firwin(TAPS_PER_PHASE * factor + 1, cutoff, fs=out_rate) * factor
        window = -(-len(taps) // factor)  # line samples each output sample depends on
        taps = np.concatenate((taps, np.zeros(window * factor - len(taps))))
        # Output q * factor + p = sum over j of taps[p + j * factor] * line[q - j].
        self._phases = [taps[phase::factor].copy() for phase in range(factor)]
        self._history = np.zeros(window - 1)
        self._rates = (in_rate, out_rate)

    async def flush(self) -> bytes:
        """Start clean; nothing was held back (the filter's 3 ms tail is not worth a packet)."""
        self._rates = None
        return await self._fallback.flush() if self._fallback else b""

    async def reset(self) -> None:
        await self.flush()
