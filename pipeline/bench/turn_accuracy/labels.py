"""Labelled turn clips: what the turn model is asked, and what the right answer is.

In: loaded scenarios, the pause lengths turn-quality sweeps, the silence kept after the last
word (default the VAD's stop_secs: when the model is asked), a rate
(16000: wideband; 8000: G.711 mu-law and the Twilio serializer's resampling, as turn-quality
renders callers). Out: `LabelledClip`s, each the 16 kHz int16 audio the agent's turn analyzer
would hold when asked, with "complete" or "incomplete".

Scenario clips (turn-quality's cases: every utterance, and those with pauses again at each swept
pause length, rendered and put through the line exactly as turn-quality replays them): the
audio from the start of the rendering up to `after_s` after the last word is "complete"; up
to `after_s` after the word before a pause inside the utterance is "incomplete" (the model is
asked at the VAD stop, stop_secs into the silence). A pause's clip does not depend on its own
length, so swept copies of one pause are one label (the first rendering, the scripted one).
Real-speech clips (the equivalents of tests/turn_clips.py, from installed package audio):
piper's complete and cut-off sentences followed by 200 ms of silence; beckett.wav (a human
recording) whole as "complete", and its prefixes at the tests' cut points as "incomplete" when
cut while he is speaking (mid-word); prefixes cut in a gap between his short sentences, each
complete on its own, have no clear label and are left out.
"""

import asyncio
from dataclasses import dataclass
from importlib.resources import files
from typing import Literal

import numpy as np
import soxr

from pipeline.bench.calls.scenario import Scenario
from pipeline.bench.turn_quality.run import TAIL_S, build_cases
from pipeline.callers.line import PIPELINE_RATE
from pipeline.callers.telephone_audio import agent_frames
from pipeline.callers.utterance_audio import line_noise, render_utterance
from pipeline.callers.voice import synthesize
from pipeline.wav import read_wav

Label = Literal["complete", "incomplete"]

# The piper sentences tests/turn_clips.py makes.
PIPER_COMPLETE = ("I would like to cancel my order, please.", "Yes, that is correct.")
PIPER_INCOMPLETE = ("My order number is", "I need to change the address and")
# The beckett.wav prefix lengths (s) the tests cut, and its half (tests/turn_clips.py).
BECKETT_CUTS_S = (1.0, 1.6, 2.3, 3.0, 3.7, 4.5, 5.2, 6.0, 7.5)
SPEAKING_DBFS = -40.0  # RMS over the last 50 ms above this: cut while speaking
TRAILING_SILENCE_S = 0.2


@dataclass(frozen=True)
class LabelledClip:
    name: str
    source: Literal["scenario", "piper", "beckett"]
    label: Label
    rate: int  # the caller's audio rate (the audio here is what the agent hears, at 16 kHz)
    audio: np.ndarray  # int16 at 16 kHz, from the start of the turn to when the model is asked


def _heard(audio: np.ndarray, rate: int) -> np.ndarray:
    """Caller audio at `rate` -> the 16 kHz int16 audio the agent's transport delivers."""
    frames = asyncio.run(agent_frames(audio, rate))
    return np.frombuffer(b"".join(frames), dtype=np.int16)


def scenario_clips(
    scenarios: list[Scenario], sweep_ms: list[int], rate: int, after_s: float
) -> list[LabelledClip]:
    """Every utterance end ("complete") and every distinct pause inside one ("incomplete")."""
    clips, seen = [], set()
    for case in build_cases(scenarios, sweep_ms):
        rendered = render_utterance(list(case.fragments), list(case.pauses_ms), case.seed, rate)
        tail = line_noise(int(TAIL_S * rate), case.seed + 1, rate)
        heard = _heard(np.concatenate([rendered.audio, tail]), rate)
        text = " | ".join(case.fragments)
        ends = [end for _, end in rendered.speech_spans]
        for i, end in enumerate(ends):
            last = i == len(ends) - 1
            key = (case.fragments, case.pauses_ms if last else case.pauses_ms[:i], i)
            if key in seen:
                continue
            seen.add(key)
            where = "end" if last else f"pause {i + 1}"
            clips.append(
                LabelledClip(
                    name=f"{case.scenario}: {text} {list(case.pauses_ms)} @{where}",
                    source="scenario",
                    label="complete" if last else "incomplete",
                    rate=rate,
                    audio=heard[: int((end + after_s) * PIPELINE_RATE)],
                )
            )
    return clips


def _beckett() -> np.ndarray:
    audio, rate = read_wav(files("moonshine_onnx").joinpath("assets", "beckett.wav"))
    if rate != PIPELINE_RATE:
        raise ValueError(f"beckett.wav is at {rate} Hz, expected {PIPELINE_RATE}")
    return audio


def _at_rate(audio: np.ndarray, rate: int) -> np.ndarray:
    """16 kHz int16 -> int16 at `rate` (soxr HQ, as the tests make their 8 kHz copies)."""
    if rate == PIPELINE_RATE:
        return audio
    resampled = soxr.resample(audio.astype(np.float32) / 32768, PIPELINE_RATE, rate, "HQ")
    return (np.clip(resampled, -1, 1) * 32767).astype(np.int16)


def cut_while_speaking(audio: np.ndarray, rate: int = PIPELINE_RATE) -> bool:
    """Whether the last 50 ms of int16 audio are speech (RMS above SPEAKING_DBFS)."""
    last = audio[-int(0.05 * rate) :].astype(np.float64) / 32768
    return 20 * np.log10(np.sqrt(np.mean(last**2)) + 1e-12) > SPEAKING_DBFS


def real_speech_clips(rate: int) -> list[LabelledClip]:
    """Piper sentences (complete and cut off) and beckett.wav whole and cut mid-word."""
    silence = np.zeros(int(TRAILING_SILENCE_S * rate), dtype=np.int16)
    clips = []
    for label, texts in (("complete", PIPER_COMPLETE), ("incomplete", PIPER_INCOMPLETE)):
        for text in texts:
            audio = np.concatenate([synthesize(text, rate), silence])
            clips.append(LabelledClip(f"piper: {text}", "piper", label, rate, _heard(audio, rate)))
    human = _beckett()
    whole = len(human) / PIPELINE_RATE
    heard = _heard(_at_rate(human, rate), rate)
    clips.append(LabelledClip(f"beckett {whole:.1f} s", "beckett", "complete", rate, heard))
    for seconds in sorted({*BECKETT_CUTS_S, round(whole / 2, 2)}):
        prefix = human[: int(seconds * PIPELINE_RATE)]
        if cut_while_speaking(prefix):
            heard = _heard(_at_rate(prefix, rate), rate)
            clips.append(
                LabelledClip(f"beckett first {seconds} s", "beckett", "incomplete", rate, heard)
            )
    return clips
