"""Speak an answer's first clause as soon as it is written, not its whole first sentence.

In: the LLM's text, token by token, as Pipecat's TTS service hands it to its text aggregator.
Out: Pipecat `Aggregation`s for TTS: the answer's first clause (up to the first ",", ";", ":"
or dash once it has `min_words` words), then whole sentences as Pipecat's own
SimpleTextAggregator cuts them. "Your order 1234, a blue kettle, arrives Friday." is spoken
as "Your order 1234," and then the rest, so the caller hears the agent a sentence's worth of
tokens and synthesis sooner. A comma inside a number ("1,234") does not cut: a clause ends
only where a space follows the mark. Each new answer (after a flush, a reset or an
interruption) starts with a first clause again.
"""

from collections.abc import AsyncIterator

from pipecat.utils.text.base_text_aggregator import Aggregation, TextType
from pipecat.utils.text.simple_text_aggregator import SimpleTextAggregator

CLAUSE_MARKS = frozenset(",;:\u2013\u2014")  # comma, semicolon, colon, en and em dash


class FirstClauseAggregator(SimpleTextAggregator):
    """Pipecat's sentence aggregator that releases each answer's first clause early."""

    def __init__(self, *, min_words: int = 2, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._min_words = min_words
        self._first_out = False  # this answer's first aggregation has gone to TTS

    async def aggregate(self, text: str) -> AsyncIterator[Aggregation]:
        """Sentences as Pipecat cuts them, with the answer's first clause cut early."""
        if self._aggregation_type == TextType.TOKEN:
            async for aggregation in super().aggregate(text):
                yield aggregation
            return
        for char in text:
            self._text += char
            result = await self._check_sentence_with_lookahead(char)
            if result is None and not self._first_out and self._clause_ends(char):
                result = await self._take_clause()
            if result is not None:
                self._first_out = True
                yield result

    def _clause_ends(self, char: str) -> bool:
        """A space right after a clause mark, with enough words before it."""
        if not char.isspace() or len(self._text) < 2 or self._text[-2] not in CLAUSE_MARKS:
            return False
        return len(self._text.split()) >= self._min_words

    async def _take_clause(self) -> Aggregation:
        clause = self._text.strip()
        await super().reset()
        return Aggregation(text=clause, type=TextType.SENTENCE)

    async def flush(self) -> Aggregation | None:
        self._first_out = False
        return await super().flush()

    async def reset(self) -> None:
        self._first_out = False
        await super().reset()

    async def handle_interruption(self) -> None:
        self._first_out = False
        await super().handle_interruption()
