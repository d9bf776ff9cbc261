"""How long to hold the caller's turn open after the VAD stop: Smart Turn's probability and the
caller's last words in, seconds of further silence out.

The agent's "smart" turn policy (stop_strategy.py) asks Smart Turn once per VAD stop, as stock
Pipecat does, but instead of a yes/no at 0.5 and a fixed silence timeout for "no", the answer
sets how long the turn waits for the caller to go on (the settings' turn_policy):

- probability at or above end_probability: end_hold_s (0 by default: the turn ends now);
- below it: from min_hold_s (just below) to max_hold_s (probability 0), linearly; no answer
  from the model (overloaded, past its deadline) counts as 0;
- the transcript's last word can only lengthen the hold: a word that leaves a sentence open
  ("is", "and", "the", "um", ...) holds at least open_hold_s, except a pronoun and its verb
  "to be" ("yes it is", "I am", "they are": a complete answer), a spoken digit at least
  digit_hold_s (numbers are read in groups, a pause between each);
- every hold is at least end_hold_s; patience scales every hold.
Pure arithmetic on what the strategy already has: no model call, no I/O.
"""

import re

from pipeline.settings import TurnPolicySettings

DIGIT_WORDS = frozenset(
    ["zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
)
_WORD = re.compile(r"[a-z0-9']+")


PRONOUNS = frozenset(["i", "you", "we", "they", "he", "she", "it", "that", "this", "there"])
TO_BE = frozenset(["am", "is", "are", "was", "were"])


def last_words(text: str, n: int = 1) -> list[str]:
    """The transcript's last n words, lower case, punctuation dropped (fewer when it has
    fewer)."""
    return _WORD.findall(text.lower())[-n:]


def last_word(text: str) -> str:
    """The transcript's last word ("" when there is none)."""
    words = last_words(text)
    return words[0] if words else ""


def _open(words: list[str], open_words: list[str]) -> bool:
    """Whether the last word leaves the sentence open ("yes it is" does not)."""
    if not words or words[-1] not in open_words:
        return False
    return not (len(words) == 2 and words[0] in PRONOUNS and words[1] in TO_BE)


def hold_s(policy: TurnPolicySettings, probability: float | None, text: str = "") -> float:
    """Seconds of silence after the VAD stop before the turn ends."""
    p = 0.0 if probability is None else probability
    if p >= policy.end_probability:
        hold = 0.0
    else:
        below = (policy.end_probability - p) / policy.end_probability  # (0, 1]
        hold = policy.min_hold_s + (policy.max_hold_s - policy.min_hold_s) * below
    word = last_word(text)
    if _open(last_words(text, 2), policy.open_words):
        hold = max(hold, policy.open_hold_s)
    elif word in DIGIT_WORDS or word.isdigit():
        hold = max(hold, policy.digit_hold_s)
    return max(hold, policy.end_hold_s) * policy.patience
