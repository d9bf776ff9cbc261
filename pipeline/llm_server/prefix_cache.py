"""Each call's conversation stays prefilled while other calls use the model.

llama-cpp-python keeps one KV cache per model, so with two calls the model alternates between
conversations and prefills each prompt again from the end of the system prompt. Its state
cache (`Llama.set_cache`) saves the model's state after every completion and, before a
completion, restores the saved state that shares the longest prefix with the prompt. Stock
`LlamaRAMCache` also keeps a copy of the logits of up to n_batch tokens with every state (about
100 MB for SmolLM2, not counted against its capacity, and copied back on every restore);
`PrefixCache` keeps one row (the model evaluates the prompt's last token again after a restore,
so those logits are never read), `attach` makes the model copy only that row when it saves, and
the cache drops a state that a newer one extends.

In: `attach(llama, capacity_mb)`. Out: the model's state cache, at most capacity_mb of KV state
(least recently used dropped first); capacity_mb 0 leaves the model without one.
"""

from collections.abc import Sequence
from typing import Any

from llama_cpp import Llama, LlamaRAMCache, LlamaState

_MARK = "_switchboard_prefix_cache"


class PrefixCache(LlamaRAMCache):
    """LlamaRAMCache that stores compact states and forgets states a newer one extends."""

    def __setitem__(self, key: Sequence[int], value: LlamaState) -> None:
        tokens = tuple(key)
        value.scores = value.scores[-1:].copy()
        for old in [k for k in self.cache_state if k != tokens]:
            # Extended: all but possibly its last token (re-tokenized answers differ there).
            if Llama.longest_token_prefix(old, tokens) >= len(old) - 1:
                del self.cache_state[old]
        super().__setitem__(tokens, value)


def _compact_saves(llama: Any) -> None:
    """Make `llama.save_state` copy one row of logits instead of up to n_batch rows (it saves
    after every completion, while the caller already waits for the next one)."""
    save_state = llama.save_state

    def save_compact() -> LlamaState:
        every_row = llama.scores
        llama.scores = every_row[-1:]
        try:
            return save_state()
        finally:
            llama.scores = every_row

    llama.save_state = save_compact


def attach(llama: Any, capacity_mb: int) -> None:
    """Give `llama` a PrefixCache of capacity_mb (once per model; 0: none)."""
    if capacity_mb <= 0 or getattr(llama, _MARK, False):
        return
    _compact_saves(llama)
    llama.set_cache(PrefixCache(capacity_bytes=capacity_mb << 20))
    setattr(llama, _MARK, True)
