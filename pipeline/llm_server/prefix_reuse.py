"""How much of each prompt the CPU LLM stand-in prefills again, one log line per completion.

llama-cpp-python keeps one KV cache per model: a prompt that starts with the tokens already in
it (the previous prompt and answer) only evaluates the rest. `install(llama)` wraps the model's
`generate` so that every completion logs, on logger "switchboard.llm_server":

    prefix: prompt 431 tokens, reused 398, prefilled 33, first token 61 ms

In: a llama_cpp.Llama (its KV tokens at the moment generation starts, after any state-cache
restore). Out: those log lines, and running totals in `Totals` (for tests and benchmarks).
"""

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("switchboard.llm_server")

_MARK = "_switchboard_prefix_reuse"


@dataclass
class Totals:
    """Completions seen so far and their prompt tokens: all, and those prefilled again."""

    completions: int = 0
    prompt_tokens: int = 0
    prefilled_tokens: int = 0


TOTALS = Totals()


def reusable(kv_tokens: Sequence[int], prompt: Sequence[int]) -> int:
    """Tokens of `prompt` that llama-cpp-python takes from a KV cache holding `kv_tokens`:
    the common prefix, less one when it covers the whole prompt (that token is evaluated again
    to get fresh logits)."""
    common = 0
    for cached, wanted in zip(kv_tokens, prompt, strict=False):
        if cached != wanted:
            break
        common += 1
    return common - 1 if common and common == len(prompt) else common


def _logged(llama: Any, generate: Any) -> Any:
    def generate_logged(tokens: Sequence[int], *args: Any, **kwargs: Any) -> Iterator[int]:
        prompt = list(tokens)
        reused = reusable(llama.input_ids[: llama.n_tokens].tolist(), prompt)
        started = time.perf_counter()
        first = True
        for token in generate(prompt, *args, **kwargs):
            if first:
                first = False
                _record(len(prompt), reused, (time.perf_counter() - started) * 1000)
            yield token

    return generate_logged


def _record(prompt: int, reused: int, first_token_ms: float) -> None:
    TOTALS.completions += 1
    TOTALS.prompt_tokens += prompt
    TOTALS.prefilled_tokens += prompt - reused
    log.info(
        "prefix: prompt %d tokens, reused %d, prefilled %d, first token %.0f ms",
        prompt,
        reused,
        prompt - reused,
        first_token_ms,
    )


def install(llama: Any) -> None:
    """Log prefix reuse for every completion of `llama` (once per model; later calls no-op)."""
    if getattr(llama, _MARK, False):
        return
    llama.generate = _logged(llama, llama.generate)
    setattr(llama, _MARK, True)
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s llm-server %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
