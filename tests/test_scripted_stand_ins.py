"""The scripted stand-ins, live, through real clients: `switchboard speech-server --scripted`
answered over gRPC by NVIDIA's riva.client (each utterance with the script's next line, each
stream from the top, nothing for line noise; TTS audio for a text, rendered once however
many calls ask for it at once), and `switchboard
llm-server --scripted` by the OpenAI client (streamed and whole) and the agent's own check;
`serve --cpu` hands both settings sections, stand-ins included, to its children."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from openai import OpenAI
from speech_riva_client import LINEAR_PCM, final_text, services, stream
from speech_server_fixture import health_status

from pipeline.agent.endpoints import llm_problem
from pipeline.bench.localhost import free_port
from pipeline.serve.cpu_mode import cpu_children
from pipeline.settings import Settings
from pipeline.speech.scripted import CachedPiperEngine

REPO = Path(__file__).resolve().parent.parent
RATE = 16000
SCRIPT = ["I need to cancel my order", "my order number is four five six"]
ANSWER = "Sure, I can help with that."
ALIAS = "scripted-test-model"
START_TIMEOUT_S = 60


def _start(args: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    command = [sys.executable, "-m", "pipeline.cli", *args]
    with log.open("wb") as out:
        return subprocess.Popen(
            command, cwd=REPO, stdout=out, stderr=out, env=os.environ | (env or {})
        )


def _until(ready, process: subprocess.Popen, log: Path) -> None:  # noqa: ANN001
    deadline = time.monotonic() + START_TIMEOUT_S
    while not ready():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the stand-in did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)


def _stopped(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def speech_address(tmp_path_factory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("scripted-speech")
    script, log = folder / "script.txt", folder / "speech.log"
    script.write_text("\n".join(SCRIPT) + "\n\n")  # a blank line is no transcript
    port = free_port()
    address = f"127.0.0.1:{port}"
    args = ["speech-server", "--port", str(port), "--scripted", str(script)]
    process = _start([*args, "--scripted-delay-ms", "20"], log)
    try:
        _until(lambda: health_status(address) == "SERVING", process, log)
        yield address
    finally:
        _stopped(process)


def _noise(seconds: float, seed: int) -> np.ndarray:
    """Line noise at about -60 dBFS, as under a real call."""
    return np.random.default_rng(seed).normal(0.0, 0.001, int(seconds * RATE))


def _tone(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return 0.1 * np.sin(2 * np.pi * 220 * t)


def _pcm(*parts: np.ndarray) -> bytes:
    audio = np.concatenate(parts)
    return (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()


TWO_UTTERANCES = _pcm(_noise(0.5, 1), _tone(1.0), _noise(1.5, 2), _tone(1.2), _noise(1.5, 3))


def test_each_utterance_is_answered_with_the_scripts_next_line(speech_address) -> None:
    asr, _ = services(speech_address)
    results = stream(asr, TWO_UTTERANCES, RATE, LINEAR_PCM)
    assert [r.alternatives[0].transcript for r in results] == SCRIPT
    assert all(r.is_final for r in results)


def test_every_stream_reads_the_script_from_the_top(speech_address) -> None:
    asr, _ = services(speech_address)
    with ThreadPoolExecutor(3) as pool:
        finals = list(pool.map(lambda _: stream(asr, TWO_UTTERANCES), range(3)))
    assert [final_text(results) for results in finals] == [" ".join(SCRIPT)] * 3


def test_line_noise_alone_is_no_utterance(speech_address) -> None:
    asr, _ = services(speech_address)
    assert stream(asr, _pcm(_noise(3.0, 4))) == []


def test_speech_is_synthesized_for_a_text(speech_address) -> None:
    _, tts = services(speech_address)
    first = tts.synthesize(ANSWER, "", "en-US", encoding=LINEAR_PCM, sample_rate_hz=RATE)
    again = tts.synthesize(ANSWER, "", "en-US", encoding=LINEAR_PCM, sample_rate_hz=RATE)
    seconds = len(first.audio) / 2 / RATE
    assert 0.5 < seconds < 10, seconds
    assert again.audio == first.audio  # replayed


def test_one_text_asked_for_by_many_calls_at_once_is_rendered_once() -> None:
    engine = CachedPiperEngine("English-US.Male-Joe")
    rendered, synthesize = [], engine._voice.synthesize
    engine._voice.synthesize = lambda text, *args: rendered.append(text) or synthesize(text, *args)
    with ThreadPoolExecutor(8) as pool:
        spoken = list(pool.map(lambda _: list(engine.sentences(ANSWER)), range(8)))
    assert rendered == [ANSWER]
    assert all(len(audio) == len(spoken[0]) for audio in spoken)
    assert all(a is b for audio in spoken for a, b in zip(audio, spoken[0], strict=True))


def test_a_script_without_lines_is_refused(tmp_path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n")
    command = [sys.executable, "-m", "pipeline.cli", "speech-server", "--scripted", str(empty)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "has no transcript" in done.stderr


@pytest.fixture(scope="module")
def llm_url(tmp_path_factory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("scripted-llm") / "llm.log"
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    env = {
        "SWITCHBOARD_LLM_SERVER__MODEL_ALIAS": ALIAS,
        "SWITCHBOARD_LLM_SERVER__SCRIPTED_ANSWER": ANSWER,
        "SWITCHBOARD_LLM_SERVER__SCRIPTED_DELAY_MS": "10",
    }
    process = _start(["llm-server", "--port", str(port), "--scripted"], log, env)
    try:
        _until(lambda: llm_problem(url, "none", ALIAS) is None, process, log)
        yield url
    finally:
        _stopped(process)


def test_the_llm_streams_the_canned_answer(llm_url) -> None:
    client = OpenAI(base_url=llm_url, api_key="none")
    chunks = client.chat.completions.create(
        model=ALIAS,
        messages=[{"role": "user", "content": "Where is my parcel?"}],
        tools=[{"type": "function", "function": {"name": "end_call", "parameters": {}}}],
        stream=True,
    )
    pieces = [c.choices[0].delta.content for c in chunks if c.choices]
    assert "".join(p or "" for p in pieces) == ANSWER
    assert len([p for p in pieces if p]) > 1  # streamed, not in one piece


def test_the_llm_answers_whole_and_lists_its_model(llm_url) -> None:
    client = OpenAI(base_url=llm_url, api_key="none")
    answer = client.chat.completions.create(
        model=ALIAS, messages=[{"role": "user", "content": "Hello"}]
    )
    assert answer.choices[0].message.content == ANSWER
    assert [m.id for m in client.models.list()] == [ALIAS]


def test_serve_cpu_hands_the_stand_ins_to_its_children(monkeypatch, tmp_path) -> None:
    parent = Settings.model_validate(
        {
            "speech_server": {"scripted": str(tmp_path / "lines.txt"), "scripted_delay_ms": 5},
            "llm_server": {"scripted": True, "scripted_answer": ANSWER},
        }
    )
    children, _ = cpu_children(parent, tmp_path)
    for child in children:
        for name, value in child.env.items():
            monkeypatch.setenv(name, value)
    child_view = Settings()
    assert child_view.speech_server == parent.speech_server
    assert child_view.llm_server == parent.llm_server
