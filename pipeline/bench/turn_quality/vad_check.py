"""Which sounds start a caller turn: the agent's VAD settings against Pipecat's defaults, on
generated line audio (line_sounds.py), at 16 kHz and through an 8 kHz G.711 line.

In: the agent settings (agent.vad_*). Out: per rate, per VAD configuration, per sound, how many
times the VAD reported the caller starting to speak (a turn start, or a barge-in while the
agent talks): short answers must start exactly one, every other sound none. Configurations:
"agent" (the settings), "pipecat" (Pipecat's VADParams defaults with agent.vad_stop_secs),
"pipecat-gate" (Pipecat's, with only the agent's min_volume); "...-cold": the short answers
0.3 s after the VAD starts listening (a fresh call, or a replay of one utterance); "...-12dB":
the short answers 12 dB quieter (piper speaks them at about -24 dBFS RMS).
"""

import asyncio
from collections.abc import Callable

import numpy as np
from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADParams, VADState

from pipeline.agent.vad import SharedSileroVADAnalyzer, agent_vad
from pipeline.bench.turn_quality.line_sounds import not_speech, short_answers
from pipeline.callers.line import PIPELINE_RATE
from pipeline.callers.telephone_audio import agent_frames
from pipeline.settings import AgentSettings

RATES = (16000, 8000)
QUIET_DB = -12.0  # a quieter caller: the short answers this much under piper's level


def starts(vad: VADAnalyzer, frames: list[bytes]) -> int:
    """How many times the VAD reports the caller starting to speak over the frames."""
    vad.set_sample_rate(PIPELINE_RATE)
    state, count = VADState.QUIET, 0
    for frame in frames:
        new = vad._run_analyzer(frame)  # what analyze_audio runs on its executor thread
        if new != state and new in (VADState.SPEAKING, VADState.QUIET):
            count += new == VADState.SPEAKING
            state = new
    return count


def heard(
    make_vad: Callable[[], VADAnalyzer], sounds: dict[str, np.ndarray], rate: int
) -> dict[str, int]:
    """Turn starts per sound, each sound through a fresh VAD."""
    return {
        name: starts(make_vad(), asyncio.run(agent_frames(audio, rate)))
        for name, audio in sounds.items()
    }


def configurations(agent: AgentSettings) -> dict[str, Callable[[], VADAnalyzer]]:
    stock = VADParams(stop_secs=agent.vad_stop_secs)
    gate = VADParams(stop_secs=agent.vad_stop_secs, min_volume=agent.vad_min_volume)
    return {
        "agent": lambda: agent_vad(agent),
        "pipecat": lambda: SharedSileroVADAnalyzer(params=stock),
        "pipecat-gate": lambda: SharedSileroVADAnalyzer(params=gate),
    }


def check(agent: AgentSettings) -> dict:
    """{rate: {configuration: {"short_answers": {word: starts}, "not_speech": {sound:
    starts}, "unheard": [...], "false_starts": [...]}}}"""
    result: dict = {}
    for rate in RATES:
        answers = {
            "": short_answers(rate),
            "-cold": short_answers(rate, lead_in_s=0.0),
            f"{QUIET_DB:.0f}dB": short_answers(rate, gain_db=QUIET_DB),
        }
        others = not_speech(rate)
        for name, make in configurations(agent).items():
            for suffix, words in answers.items():
                label = name + suffix
                said = heard(make, words, rate)
                row = {"short_answers": said, "unheard": [w for w, n in said.items() if n == 0]}
                if label == name:
                    noise = heard(make, others, rate)
                    row |= {"not_speech": noise, "false_starts": [s for s, n in noise.items() if n]}
                result.setdefault(str(rate), {})[label] = row
    return result
