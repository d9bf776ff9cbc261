"""One caller utterance as audio: piper speech with pauses inside it and line noise under it.

In: the utterance's fragments, the pauses between them (ms), a seed and a sample rate.
Out: a `RenderedUtterance`: int16 mono audio and the (start_s, end_s) span of each fragment.

The fragments are spoken as ONE sentence and the pauses are cut in at the word boundaries
between them (piper's phoneme alignments say where each word ends). Speaking each fragment on
its own would give every fragment a finished sentence's falling pitch, which is exactly what
a turn model listens for; a caller who stops mid-sentence to think does not sound finished.
"""

import functools
from dataclasses import dataclass

import numpy as np
import soxr

from pipeline.callers.line import PIPELINE_RATE
from pipeline.callers.voice import piper_voice

LEAD_IN_S = 0.3  # line noise before the first word, so a VAD starts from silence
NOISE_DBFS = (-62.0, -54.0)  # range of the seeded line-noise level (white, RMS)
SILENT = 32  # int16 magnitude (-60 dBFS) below which piper's output counts as silence


@dataclass(frozen=True)
class RenderedUtterance:
    audio: np.ndarray  # int16 mono at `rate` (read-only: shared through the cache)
    rate: int
    speech_spans: list[tuple[float, float]]  # (start_s, end_s) of each spoken fragment


@functools.lru_cache(maxsize=256)
def speak_fragments(fragments: tuple[str, ...], rate: int) -> tuple[np.ndarray, ...]:
    """The fragments spoken as one sentence, cut at the word boundaries between them: one int16
    array per fragment at `rate`, piper's silence trimmed from both ends of each."""
    from piper.config import SynthesisConfig

    repeatable = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
    voice = piper_voice(include_alignments=True)
    chunks = list(voice.synthesize(" ".join(fragments), repeatable, True))
    if any(c.phoneme_alignments is None for c in chunks):
        raise RuntimeError("piper gave no phoneme alignments for this voice")
    audio = np.concatenate([c.audio_float_array for c in chunks]).astype(np.float32)
    gaps, at = [], 0  # sample offset of the middle of each word gap (and sentence break)
    for chunk in chunks:
        if at:
            gaps.append(at)
        for align in chunk.phoneme_alignments:
            if align.phoneme == " ":
                gaps.append(at + align.num_samples // 2)
            at += align.num_samples
    words = [_spoken_words(f) for f in fragments]
    if len(gaps) != sum(words) - 1:
        raise ValueError(f"piper split {fragments} into {len(gaps) + 1} words, not {sum(words)}")
    cuts = [0, *(gaps[n - 1] for n in np.cumsum(words)[:-1]), len(audio)]
    pieces = []
    for begin, end in zip(cuts, cuts[1:], strict=False):
        piece = audio[begin:end]
        if chunks[0].sample_rate != rate:
            piece = soxr.resample(piece, chunks[0].sample_rate, rate, quality="HQ")
        pcm = (np.clip(piece, -1.0, 1.0) * 32767).astype(np.int16)
        loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > SILENT)
        pieces.append(pcm[loud[0] : loud[-1] + 1] if loud.size else pcm)
    return tuple(pieces)


def _spoken_words(text: str) -> int:
    """How many words piper speaks for `text` alone (espeak runs some together: "I am")."""
    sentences = piper_voice(include_alignments=True).phonemize(text)
    return sum(sentence.count(" ") + 1 for sentence in sentences)


def line_noise(samples: int, seed: int, rate: int) -> np.ndarray:
    """Seeded white line noise (int16) at a level between NOISE_DBFS, as under a real call."""
    level = 32767 * 10 ** (np.random.default_rng(seed).uniform(*NOISE_DBFS) / 20)
    noise = np.random.default_rng([seed, rate, samples]).normal(0.0, level, samples)
    return np.clip(noise, -32768, 32767).astype(np.int16)


@functools.lru_cache(maxsize=512)
def _render(fragments: tuple[str, ...], pauses_ms: tuple[int, ...], seed: int, rate: int):
    parts = [np.zeros(int(LEAD_IN_S * rate), dtype=np.int16)]
    spans, at = [], len(parts[0])
    for i, speech in enumerate(speak_fragments(fragments, rate)):
        spans.append((at / rate, (at + len(speech)) / rate))
        parts.append(speech)
        at += len(speech)
        if i < len(pauses_ms):
            parts.append(np.zeros(pauses_ms[i] * rate // 1000, dtype=np.int16))
            at += len(parts[-1])
    clean = np.concatenate(parts).astype(np.int32)
    audio = np.clip(clean + line_noise(len(clean), seed, rate), -32768, 32767).astype(np.int16)
    audio.flags.writeable = False
    return RenderedUtterance(audio=audio, rate=rate, speech_spans=spans)


def render_utterance(
    fragments: list[str], pauses_ms: list[int], seed: int, rate: int = PIPELINE_RATE
) -> RenderedUtterance:
    """Caller audio for one utterance: LEAD_IN_S of line noise, then the fragments with the
    given pauses between them, line noise from `seed` under all of it. Cached per process."""
    if not fragments or len(pauses_ms) != len(fragments) - 1:
        raise ValueError(f"{len(fragments)} fragments need {max(len(fragments) - 1, 0)} pauses")
    return _render(tuple(fragments), tuple(int(p) for p in pauses_ms), seed, rate)
