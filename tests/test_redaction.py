"""Caller data redaction (agent.redaction, agent.transcripts_raw): the redactor on written,
spoken, mixed and keyed digit runs, its time on 100 KB inputs, a number read over several
turns, the tool log, Pipecat's own log; then a real call through the agent's WebSocket app
and a live speech server where the caller keys and speaks a card number, and neither the
log (ours and Pipecat's) nor the transcripts file carries it (the file does with
agent.transcripts_raw)."""

import asyncio
import json
import logging
import os
import random
import re
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from loguru import logger
from speech_server_fixture import SpeechServer, free_port, speech_server  # noqa: F401

from pipeline.agent.pipecat_log import protect_logs
from pipeline.agent.redaction import TurnMask, redact
from pipeline.agent.tools import CallCenterTools, load_orders

CARD = "4242424242424242"
SPOKEN = {"zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4",
          "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9"}  # fmt: skip


def carries(text: str, digits: str) -> bool:
    """Whether `digits` are in `text` once separators are dropped and digit words read."""
    flat = re.sub(r"[\s.,\-]", "", text.lower())
    for word, digit in SPOKEN.items():
        flat = flat.replace(word, digit)
    return digits in flat


@pytest.mark.parametrize(
    ("said", "masked"),
    [
        ("my card is 4111 1111 1111 1111, thanks", "my card is **************11, thanks"),
        ("card 4111-1111-1111-1111.", "card **************11."),
        ("4111.1111.1111.1111", "**************11"),
        ("it is 4111111111111111", "it is **************11"),
        ("4242, 4242, 4242, 4242.", "**************42."),
        ("account 5, 5, 5, 1, 2, 3", "account ****23"),
        ("phone +1 555 123 4567", "phone +*********67"),
    ],
)
def test_written_digit_runs_keep_their_last_two_digits(said: str, masked: str) -> None:
    assert redact(said) == masked


@pytest.mark.parametrize(
    ("said", "masked"),
    [
        ("four one one one one one one one", "******11"),
        ("it is four two four two, four two four two please", "it is ******42 please"),
        ("zero oh seven seven one two", "****12"),
        ("double five double five six seven", "****67"),
        ("triple nine two one four", "****14"),
        ("forty-one eleven twenty two", "****22"),
        ("Four one 1 one 1 one.", "****11."),
        ("my code is 4 one 1 one 1 one", "my code is ****11"),
    ],
)
def test_spoken_and_mixed_digit_runs_are_masked(said: str, masked: str) -> None:
    assert redact(said) == masked


@pytest.mark.parametrize(
    "said",
    [
        "My order number is 1-234.",
        "order 1234 please",
        "my order is one two three four",
        "It is 1, 2, 3, 4.",
        "Your order 1 2 3 4, a blue kettle, is shipped, and it arrives Friday.",
        "I paid 19.99 on 12/05 for 2 kettles",
        "the blue one, two of them, double trouble",
        "from 127.0.0.1:5060 and 10.20.30.40",
        "context 550e8400-e29b-41d4-a716-4466554400a0 of call__0_lookup_order_cmpl-f2cc31dc",
        "",
    ],
)
def test_short_numbers_addresses_and_identifiers_stay_readable(said: str) -> None:
    assert redact(said) == said


def test_keyed_digits_as_the_pipeline_writes_them_are_masked() -> None:
    assert redact("DTMF: 4111111111111111#") == "DTMF: **************11#"
    assert redact("keys *4242424242#") == "keys *********42#"


def _longest_contiguous_digits(text: str) -> int:
    return max((len(m) for m in re.findall(r"(?<![^\W_])\d+(?![^\W_])", text)), default=0)


def test_random_text_leaves_no_six_digit_run_and_redacting_twice_changes_nothing() -> None:
    rng = random.Random(16)
    pieces = [
        *"0123456789",
        " ",
        "-",
        ".",
        ",",
        "  ",
        " one ",
        " oh ",
        " double ",
        " forty",
        "x",
        "#",
    ]
    for _ in range(5000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
        once = redact(text)
        assert _longest_contiguous_digits(once) < 6, (text, once)
        assert redact(once) == once, text


ADVERSARIAL = {
    "digits and spaces": "1 ",
    "digit words": "one ",
    "dashes": "-",
    "dots after digits": "1.",
    "doubles": "double ",
    "tens": "forty-",
    "glued": "1a",
    "long digits": "4",
    "punctuation": '<,;"=',
}


@pytest.mark.parametrize("unit", ADVERSARIAL.values(), ids=ADVERSARIAL.keys())
def test_100kb_of_adversarial_text_is_redacted_in_linear_time(unit: str) -> None:
    def seconds(size: int) -> float:
        text = (unit * (size // len(unit) + 1))[:size]
        start = time.perf_counter()
        redact(text)
        return time.perf_counter() - start

    small = min(seconds(10_000) for _ in range(5))
    large = min(seconds(100_000) for _ in range(3))
    assert large < 2.0, large  # about 0.1 s here
    assert large < 30 * max(small, 1e-4), (small, large)  # linear: 10x; quadratic: 100x


def test_a_number_read_over_several_turns_is_masked_after_its_first_digits() -> None:
    caller = TurnMask()
    turns = ["My card number is 4242.", "4242,", "four two four two", "4242.", "Thanks."]
    assert [caller(t) for t in turns] == [
        "My card number is 4242.",  # at most five digits of a number stay readable
        "****,",
        "****",
        "****.",
        "Thanks.",
    ]
    assert caller("It is 1234.") == "It is 1234."
    assert caller("Yes, 56 please") == "Yes, 56 please"  # a word between: a new number


def test_tool_arguments_are_logged_masked(caplog: pytest.LogCaptureFixture) -> None:
    spoken: list[object] = []

    async def result_callback(result: object, properties: object = None) -> None:
        pass

    async def push_frame(frame: object) -> None:
        spoken.append(frame)

    llm = SimpleNamespace(push_frame=push_frame)
    tools = CallCenterTools(load_orders())
    caplog.set_level(logging.INFO, logger="pipeline.agent.tools")
    for arguments in ({"order_number": "1234"}, {"order_number": CARD}, {"reason": CARD}):
        params = SimpleNamespace(arguments=arguments, result_callback=result_callback, llm=llm)
        call = tools.lookup_order if "order_number" in arguments else tools.transfer_to_human
        asyncio.run(call(params))
    logged = caplog.text
    assert "tool lookup_order({'order_number': '1234'})" in logged
    assert "**************42" in logged and not carries(logged, CARD[:8]), logged


@pytest.fixture
def pipecat_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """PIPECAT_LOG_LLM_CONTEXT unset, and restored after the test (protect_logs sets it)."""
    monkeypatch.setenv("PIPECAT_LOG_LLM_CONTEXT", "full")
    monkeypatch.delenv("PIPECAT_LOG_LLM_CONTEXT")


def test_pipecat_log_messages_are_masked_when_redaction_is_on(pipecat_env: None) -> None:
    seen: list[str] = []
    sink = logger.add(lambda message: seen.append(message.record["message"]), level="DEBUG")
    try:
        protect_logs(True)
        logger.debug("TTS#0: Generating TTS [Your card 4242 4242 4242 4242 is on file.]")
        logger.debug("Transcription: [4242]")
        protect_logs(False)
        logger.debug("Transcription: [raw 4242 4242 4242 4242]")
        logger.warning("Failed to parse JSON message: {}", "x" * 1_000_000)
    finally:
        logger.remove(sink)
    assert os.environ["PIPECAT_LOG_LLM_CONTEXT"] == "off"  # no LLM context in its log line
    assert seen[:3] == [
        "TTS#0: Generating TTS [Your card **************42 is on file.]",
        "Transcription: [4 characters]",  # a number read with pauses spans several
        "Transcription: [raw 4242 4242 4242 4242]",
    ]
    assert seen[3].endswith("... [1000030 characters]") and len(seen[3]) < 5000


# A real call ------------------------------------------------------------------------------


async def _call_with_a_card_number(url: str, transcripts: Path) -> None:
    """Key the card, then say it over the greeting; hang up once the turn is written."""
    from pipeline.callers.voice import synthesize
    from pipeline.callers.websocket_line import PhoneLine

    said = "My card number is four two four two four two four two four two four two."
    async with PhoneLine(url) as line:
        start = time.monotonic()
        while not line.speech_since(start):  # the greeting: the pipeline is up
            assert time.monotonic() - start < 30, "no greeting"
            await asyncio.sleep(0.05)
        await line.press(CARD + "#", gap_s=0.02)
        await line.say(synthesize(said))
        while '"caller"' not in (transcripts.read_text() if transcripts.exists() else ""):
            assert time.monotonic() - start < 60, "the caller's turn never ended"
            await asyncio.sleep(0.1)


@pytest.mark.slow
@pytest.mark.parametrize("raw", [False, True], ids=["masked", "transcripts_raw"])
def test_a_calls_log_and_transcripts_do_not_carry_the_card_number(
    speech_server: SpeechServer,  # noqa: F811
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    pipecat_env: None,
    raw: bool,
) -> None:
    from asgi_server import serving

    from pipeline.serve.app import create_app
    from pipeline.settings import load_settings

    transcripts = tmp_path / "transcripts.jsonl"
    settings = load_settings(
        asr={"server": speech_server.address, "model": "whisper-tiny.en"},
        tts={"server": speech_server.address, "voice": "English-US.Male-Joe"},
        llm={"base_url": f"http://127.0.0.1:{free_port()}/v1"},  # down: no LLM server needed
        agent={"transcripts_file": transcripts, "transcripts_raw": raw, "metrics_port": 0},
    )
    pipecat: list[str] = []
    sink = logger.add(lambda message: pipecat.append(message.record["message"]), level="DEBUG")
    caplog.set_level(logging.INFO)
    try:
        with serving(create_app(settings)) as url:
            ws = url.replace("http://", "ws://", 1) + settings.agent.websocket_path
            asyncio.run(_call_with_a_card_number(ws, transcripts))
    finally:
        logger.remove(sink)
    ours = [r.getMessage() for r in caplog.records]
    heard = [m for m in ours if m.startswith("caller: ")]
    transcribed = [m for m in pipecat if m.startswith("Transcription:")]
    assert heard and transcribed, (ours, pipecat)
    assert any(re.search(r"\*{4}", m) for m in heard), heard
    leaked = [m for m in ours + pipecat if carries(m, CARD[:8])]
    assert not leaked, leaked
    lines = [json.loads(line) for line in transcripts.read_text().splitlines()]
    turns = [t["text"] for t in lines if "role" in t]
    assert carries(" ".join(turns), CARD[:8]) is raw, turns
    # The turn events sit beside the words as their own kinds, with no words in them.
    kinds = {t["kind"] for t in lines if "kind" in t}
    assert {"caller_started", "caller_stopped", "turn_ask", "turn_end"} <= kinds, lines
    assert not carries(json.dumps([t for t in lines if "kind" in t]), CARD[:8])
