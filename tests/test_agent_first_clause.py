"""The TTS text aggregator that speaks an answer's first clause early, and the ASR endpointing
the agent asks for: what Pipecat's TTS and STT services are built with."""

import asyncio

from pipecat.utils.text.simple_text_aggregator import SimpleTextAggregator

from pipeline.agent.first_clause import FirstClauseAggregator
from pipeline.agent.services import build_stt, build_tts
from pipeline.settings import AsrSettings, TtsSettings


def aggregate(aggregator: SimpleTextAggregator, tokens: list[str]) -> list[str]:
    """What TTS would be asked to say for one answer streamed as `tokens`."""

    async def run() -> list[str]:
        out = []
        for token in tokens:
            async for aggregation in aggregator.aggregate(token):
                out.append(aggregation.text)
        rest = await aggregator.flush()
        return [*out, rest.text] if rest else out

    return asyncio.run(run())


ORDER = [
    "Your",
    " order",
    " 1",
    ",",
    "234",
    ",",
    " a blue",
    " kettle,",
    " arrives Friday.",
    " Bye.",
]


def test_first_clause_goes_first_then_whole_sentences():
    said = aggregate(FirstClauseAggregator(min_words=2), ORDER)
    # the comma inside 1,234 does not cut; the later comma inside the sentence does not either
    assert said == ["Your order 1,234,", "a blue kettle, arrives Friday.", "Bye."]
    stock = aggregate(SimpleTextAggregator(), ORDER)
    assert stock == ["Your order 1,234, a blue kettle, arrives Friday.", "Bye."]
    assert " ".join(said) == " ".join(stock)  # nothing lost, nothing added


def test_a_clause_needs_its_words():
    tokens = ["Sure", ", I", " can", " help", " with", " that.", " Anything", " else?"]
    assert aggregate(FirstClauseAggregator(min_words=2), tokens) == [
        "Sure, I can help with that.",
        "Anything else?",
    ]
    assert aggregate(FirstClauseAggregator(min_words=1), tokens)[0] == "Sure,"


def test_every_answer_starts_with_a_clause_again():
    aggregator = FirstClauseAggregator(min_words=2)
    first = aggregate(aggregator, ["Got it; one", " moment,", " please."])
    assert first == ["Got it;", "one moment, please."]
    second = aggregate(aggregator, ["Of course", ", here", " it is."])
    assert second == ["Of course,", "here it is."]

    async def interrupted() -> list[str]:
        async for _ in aggregator.aggregate("Well then"):
            pass
        await aggregator.handle_interruption()
        return [a.text async for a in aggregator.aggregate("Okay then, bye ")]

    assert asyncio.run(interrupted()) == ["Okay then,"]


def test_tts_and_stt_are_built_with_the_settings():
    tts = build_tts(TtsSettings(server="localhost:1", first_clause_words=3))
    assert isinstance(tts._text_aggregator, FirstClauseAggregator)
    assert tts._text_aggregator._min_words == 3
    stock = build_tts(TtsSettings(server="localhost:1", first_clause_words=0))
    assert not isinstance(stock._text_aggregator, FirstClauseAggregator)

    asr = AsrSettings(server="localhost:1", stop_history_ms=200, final_within_s=1.2)
    stt = build_stt(asr, 16000)
    config = stt._create_recognition_config()
    assert config.config.endpointing_config.stop_history == 200
    assert stt._ttfs_p99_latency == 1.2  # how long a turn waits for the final, at most
