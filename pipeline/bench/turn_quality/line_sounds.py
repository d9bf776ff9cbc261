"""What a caller's line carries besides the caller's words, as generated audio: the sounds that
must NOT start a caller turn (or a barge-in), and short answers that must.

In: a sample rate (16000 wideband, 8000 for a G.711 line) and seeds. Out: int16 mono clips,
each with line noise under it, LEAD_IN_S of it before (the VAD has been listening a while, as
in a call under way; its volume gate reads 0 until it has heard 0.4 s) and TAIL_S after:
- "noise": line noise alone; "dtmf": in-band DTMF tones ("456#", 120 ms each, -10 dBFS);
  "breath": three breaths (shaped low-passed noise bursts, -35 dBFS);
- "echo-20dB-50ms" ...: the agent's own voice (the same piper voice) leaking back from the line
  20 or 30 dB down, 50 or 250 ms late;
- "talker-25dB": someone else talking in the room, 25 dB under a caller's level;
- short answers: one or two words alone ("no", "nope", "sure", ...), as render_utterance
  speaks them.
"""

import numpy as np

from pipeline.callers.utterance_audio import line_noise, render_utterance
from pipeline.callers.voice import synthesize

LEAD_IN_S, TAIL_S = 1.0, 1.5
SHORT_ANSWERS = ("yes", "no", "nope", "sure", "right", "correct", "okay", "yeah", "seven")
AGENT_LINE = "Thank you for calling customer support, how can I help you today?"
ROOM_LINE = "I would like to check the status of my order please."
_DTMF_HZ = {"4": (770, 1209), "5": (770, 1336), "6": (770, 1477), "#": (941, 1477)}


def _on_line(signal: np.ndarray, rate: int, seed: int, lead_in_s: float = LEAD_IN_S) -> np.ndarray:
    """The signal with line noise under it, lead-in before and a tail after."""
    lead, tail = np.zeros(int(lead_in_s * rate)), np.zeros(int(TAIL_S * rate))
    padded = np.concatenate([lead, signal, tail])
    noisy = padded + line_noise(len(padded), seed, rate)
    return np.clip(noisy, -32768, 32767).astype(np.int16)


def dtmf(rate: int, digits: str = "456#", dbfs: float = -10.0) -> np.ndarray:
    """In-band DTMF: each digit's two tones for 120 ms, 100 ms apart."""
    t = np.arange(int(0.12 * rate)) / rate
    amplitude = 32767 * 10 ** (dbfs / 20) / 2
    parts = []
    for digit in digits:
        low, high = _DTMF_HZ[digit]
        parts += [amplitude * (np.sin(2 * np.pi * low * t) + np.sin(2 * np.pi * high * t))]
        parts += [np.zeros(int(0.1 * rate))]
    return _on_line(np.concatenate(parts), rate, seed=8)


def breath(rate: int, dbfs: float = -35.0, seed: int = 1) -> np.ndarray:
    """Three 0.5 s breaths 0.6 s apart: low-passed noise under a rise-and-fall envelope."""
    rng, n = np.random.default_rng(seed), int(0.5 * rate)
    parts = []
    for _ in range(3):
        air = np.convolve(rng.normal(0, 1, n), np.ones(8) / 8, "same")
        air *= 32767 * 10 ** (dbfs / 20) / np.sqrt(np.mean(air**2))
        parts += [air * np.sin(np.pi * np.arange(n) / n) ** 2, np.zeros(int(0.6 * rate))]
    return _on_line(np.concatenate(parts), rate, seed=9)


def leaked_voice(text: str, rate: int, gain_db: float, delay_ms: int, seed: int) -> np.ndarray:
    """A piper voice saying `text`, gain_db down and delay_ms late (echo or a room talker)."""
    voice = synthesize(text, rate).astype(np.float64) * 10 ** (gain_db / 20)
    return _on_line(np.concatenate([np.zeros(delay_ms * rate // 1000), voice]), rate, seed)


def not_speech(rate: int) -> dict[str, np.ndarray]:
    """Every sound that must start no turn, by name."""
    sounds = {
        "noise": line_noise(int(3 * rate), 5, rate),
        "dtmf": dtmf(rate),
        "breath": breath(rate),
        "talker-25dB": leaked_voice(ROOM_LINE, rate, -25.0, 0, seed=7),
    }
    for gain in (-20, -30):
        for delay in (50, 250):
            sounds[f"echo{gain}dB-{delay}ms"] = leaked_voice(AGENT_LINE, rate, gain, delay, 6)
    return sounds


def short_answers(
    rate: int, seed: int = 3, lead_in_s: float = LEAD_IN_S, gain_db: float = 0.0
) -> dict[str, np.ndarray]:
    """Each short answer alone on the line, as the caller's whole turn (lead_in_s 0: the word
    comes 0.3 s after the VAD starts listening, render_utterance's own lead-in; gain_db: a
    quieter caller, the line noise under it unchanged)."""
    gain = 10 ** (gain_db / 20)
    return {
        word: _on_line(render_utterance([word], [], seed, rate).audio * gain, rate, 4, lead_in_s)
        for word in SHORT_ANSWERS
    }
