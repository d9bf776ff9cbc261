"""A call whose LLM, ASR or TTS is down, through the agent's real WebSocket app and a live
speech server: the agent apologizes and hangs up (LLM or ASR down), or hangs up at once (TTS
down, so no apology can be spoken). The down service is a closed port, not a mock. The app
runs in this process, so its Prometheus metrics and transcripts are read here."""

import asyncio
import gc
import json
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from asgi_server import serving
from pipecat.pipeline.worker import PipelineWorker
from prometheus_client import REGISTRY
from speech_server_fixture import SpeechServer, free_port, speech_server  # noqa: F401

from pipeline.callers.transcribe import transcribe
from pipeline.callers.voice import synthesize
from pipeline.callers.websocket_line import PhoneLine
from pipeline.serve.app import create_app
from pipeline.settings import Settings, load_settings

pytestmark = pytest.mark.slow


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _settings(
    speech: SpeechServer, transcripts: Path, llm_up: bool, tts_up: bool, asr_up: bool = True
) -> Settings:
    closed = f"127.0.0.1:{free_port()}"
    return load_settings(
        asr={"server": speech.address if asr_up else closed, "model": "whisper-tiny.en"},
        tts={"server": speech.address if tts_up else closed, "voice": "English-US.Male-Joe"},
        llm={"base_url": "http://" + (closed if not llm_up else "unused") + "/v1"},
        agent={"transcripts_file": transcripts, "metrics_port": 0},
    )


@contextmanager
def running_app(settings: Settings) -> Iterator[str]:
    """The agent's app on a free port in a thread; yields its WebSocket URL."""
    with serving(create_app(settings)) as url:
        yield url.replace("http://", "ws://", 1) + settings.agent.websocket_path


async def _ask(url: str) -> dict[str, object]:
    async with PhoneLine(url) as line:
        greeting = await line.wait_agent_turn(time.monotonic(), timeout_s=30)
        _, sent = await line.say(synthesize("Hi, I am calling to check on an order."))
        reply = await line.wait_agent_turn(sent, quiet_s=1.0, timeout_s=60)
        await asyncio.wait_for(line.closed.wait(), timeout=30)
        closed_after_s = time.monotonic() - sent
    audio = np.concatenate([p.pcm for p in reply]) if reply else np.zeros(0, np.int16)
    return {"greeting": bool(greeting), "reply": audio, "closed_after_s": closed_after_s}


def test_llm_down_the_agent_apologizes_and_hangs_up(speech_server, tmp_path) -> None:  # noqa: F811
    transcripts = tmp_path / "transcripts.jsonl"
    before = {
        "apologized": _sample("switchboard_agent_calls_total", outcome="apologized"),
        "llm_errors": sum(
            _sample("switchboard_agent_errors_total", service="llm", category=c)
            for c in ("connectivity", "unknown", "server")
        ),
        "tts_ttfb": _sample("switchboard_agent_service_ttfb_seconds_count", service="tts"),
        "lag": _sample("switchboard_agent_frame_lag_seconds_count"),
    }
    with running_app(_settings(speech_server, transcripts, llm_up=False, tts_up=True)) as url:
        result = asyncio.run(_ask(url))
    said = transcribe(result["reply"], speech_server.address).lower()
    assert result["greeting"]
    assert "sorry" in said and "trouble" in said, said
    assert result["closed_after_s"] < 60
    assert (
        _sample("switchboard_agent_calls_total", outcome="apologized") == before["apologized"] + 1
    )
    llm_errors = sum(
        _sample("switchboard_agent_errors_total", service="llm", category=c)
        for c in ("connectivity", "unknown", "server")
    )
    assert llm_errors > before["llm_errors"]
    assert (
        _sample("switchboard_agent_service_ttfb_seconds_count", service="tts") > before["tts_ttfb"]
    )
    assert _sample("switchboard_agent_frame_lag_seconds_count") > before["lag"] + 100
    assert _sample("switchboard_agent_active_calls") == 0
    turns = [json.loads(line) for line in transcripts.read_text().splitlines()]
    agent_turns = [t["text"] for t in turns if t.get("role") == "agent"]
    assert any("acme" in text.lower() for text in agent_turns), turns  # the greeting
    assert any("order" in t["text"].lower() for t in turns if t.get("role") == "caller"), turns
    assert any("sorry" in text.lower() for text in agent_turns), turns
    assert len({t["call_id"] for t in turns}) == 1 and turns[0]["call_id"].startswith("MZ")


async def _call_without_tts(url: str) -> dict[str, object]:
    start = time.monotonic()
    async with PhoneLine(url) as line:
        await asyncio.wait_for(line.closed.wait(), timeout=60)
        return {"closed_after_s": time.monotonic() - start, "spoke": bool(line.speech_since(0))}


def test_tts_down_the_call_ends_without_hanging(speech_server, tmp_path) -> None:  # noqa: F811
    failed = _sample("switchboard_agent_calls_total", outcome="failed")
    collections = _sample("switchboard_agent_collect_seconds_count")
    earlier = weakref.WeakSet(o for o in gc.get_objects() if isinstance(o, PipelineWorker))
    with running_app(
        _settings(speech_server, tmp_path / "t.jsonl", llm_up=True, tts_up=False)
    ) as url:
        result = asyncio.run(_call_without_tts(url))
        deadline = time.monotonic() + 10
        while _sample("switchboard_agent_collect_seconds_count") == collections:
            assert time.monotonic() < deadline, "no collection after the call ended"
            time.sleep(0.1)
        # The finished call (its reference cycles) is gone without this test collecting.
        assert not [
            o for o in gc.get_objects() if isinstance(o, PipelineWorker) and o not in earlier
        ]
    assert not result["spoke"]
    assert result["closed_after_s"] < 60
    assert _sample("switchboard_agent_calls_total", outcome="failed") == failed + 1
    assert _sample("switchboard_agent_active_calls") == 0


async def _listen_until_hung_up(url: str) -> dict[str, object]:
    start = time.monotonic()
    async with PhoneLine(url) as line:
        await asyncio.wait_for(line.closed.wait(), timeout=60)
        closed_after_s = time.monotonic() - start
        spoken = line.speech_since(0)
    audio = np.concatenate([p.pcm for p in spoken]) if spoken else np.zeros(0, np.int16)
    return {"closed_after_s": closed_after_s, "said": audio}


def test_asr_down_the_agent_apologizes_and_hangs_up(speech_server, tmp_path) -> None:  # noqa: F811
    apologized = _sample("switchboard_agent_calls_total", outcome="apologized")
    settings = _settings(
        speech_server, tmp_path / "t.jsonl", llm_up=True, tts_up=True, asr_up=False
    )
    with running_app(settings) as url:
        result = asyncio.run(_listen_until_hung_up(url))
    said = transcribe(result["said"], speech_server.address).lower()
    assert "sorry" in said and "trouble" in said, said
    assert result["closed_after_s"] < 60
    assert _sample("switchboard_agent_calls_total", outcome="apologized") == apologized + 1
    assert _sample("switchboard_agent_errors_total", service="stt", category="connectivity") > 0
