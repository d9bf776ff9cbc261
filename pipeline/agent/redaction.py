"""Caller data out of the logs: digit runs masked to their last two digits.

In: any text a call produces (a caller or agent turn, a tool's arguments, a Pipecat log
message). Out: the same text where every run of six or more digits is replaced by stars and
its last two digits, e.g. "my card is 4111 1111 1111 1111" -> "my card is **************11".
A run is digits written ("4111111111111111", "4111-1111", "4111.1111", "4, 1, 1, 1"),
keyed (DTMF digits as the pipeline writes them, "41111111#") or spoken ("four one one one",
"oh"/"zero", "double five", "forty-one", "eleven"), in any mix ("4 one 1 one"); digit
groups join across gaps of up to three spaces, dashes, dots or commas. Shorter numbers
(four-digit order numbers, prices) stay readable; digits glued to a word other than a digit
word are identifiers (UUIDs, call ids) and stay, and so does a dotted IPv4 address. One
left-to-right pass over the tokens: linear in the text's length.

`TurnMask` masks one speaker's turns in order, carrying digits across turns (a number read
with pauses). Used for the agent's log lines and the transcripts file (pipeline/agent/call.py,
tools.py; agent.redaction, agent.transcripts_raw) and for Pipecat's log
(pipeline/agent/pipecat_log.py).
"""

import re
from collections.abc import Callable

MIN_DIGITS = 6  # runs this long or longer are masked
KEEP = 2  # trailing digits left readable
MAX_GAP = 3  # separator characters that may stand between two digit groups of one run

UNITS = {
    "zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}  # fmt: skip
TEENS = {
    "ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13", "fourteen": "14",
    "fifteen": "15", "sixteen": "16", "seventeen": "17", "eighteen": "18", "nineteen": "19",
}  # fmt: skip
TENS = {
    "twenty": "2", "thirty": "3", "forty": "4", "fifty": "5",
    "sixty": "6", "seventy": "7", "eighty": "8", "ninety": "9",
}  # fmt: skip
REPEATS = {"double": 2, "triple": 3}

# One token per match, each kind starting with its own characters: no backtracking.
TOKENS = re.compile(r"(\d+)|([^\W\d_]+)|(\s+|[-.,])|.", re.DOTALL)
WORD = re.compile(r"[^\W\d_]+")
IPV4 = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")


class _Run:
    """The digit run being read: where it starts and ends in the text, its digits, and how
    many digits a previous turn's trailing run carried into it."""

    def __init__(self, carried: int = 0) -> None:
        self.start: int | None = None  # first digit (or "double") token
        self.end = 0  # end of the last digit token
        self.digits: list[str] = []
        self.carried = carried
        self.gap = 0  # separator characters since the last digit token
        self.repeat = 1  # "double"/"triple" waiting for its digit
        self.after_tens = False  # the last token was "forty" & co: a unit may follow

    def continues(self) -> bool:
        """Whether a digit token here belongs to this run (or starts it)."""
        return self.start is None or self.gap <= MAX_GAP

    def add(self, start: int, end: int, digits: str) -> None:
        if self.start is None:
            self.start = start
        self.digits.append(digits * self.repeat)
        self.end, self.gap, self.repeat, self.after_tens = end, 0, 1, False

    def count(self) -> int:
        return self.carried + sum(map(len, self.digits))


def _masked(text: str, run: _Run) -> str | None:
    """The mask for `run` (its span of `text`), or None when it stays readable. A run that
    continues a previous turn's digits keeps no digits unless it is long enough alone."""
    digits = "".join(run.digits)
    if run.start is None or not digits or run.count() < MIN_DIGITS:
        return None
    if not run.carried and IPV4.fullmatch(text, run.start, run.end):
        return None
    if len(digits) < MIN_DIGITS:
        return "*" * len(digits)
    return "*" * (len(digits) - KEEP) + digits[-KEEP:]


def redact(text: str) -> str:
    """`text` with each run of MIN_DIGITS or more digits masked (module docstring)."""
    return _scan(text, 0)[0]


class TurnMask:
    """Masks one speaker's turns of one call, in order. A caller who pauses while reading a
    card number splits it into turns of a few digits each: a turn that opens with digits
    continues the previous turn's trailing digits, so only the first turn's (at most five)
    digits stay readable."""

    def __init__(self) -> None:
        self._tail = 0  # digits at the end of the previous turn

    def __call__(self, text: str) -> str:
        masked, self._tail = _scan(text, self._tail)
        return masked


def _scan(text: str, carried: int) -> tuple[str, int]:
    """`text` masked, with `carried` digits before its opening run; and how many digits its
    closing run has (0 when it does not end with digits)."""
    out: list[str] = []
    done = 0  # text before this index is in `out`
    run = _Run(carried)

    def close() -> None:
        nonlocal done, run
        mask = _masked(text, run)
        if mask is not None and run.start is not None:
            out.append(text[done : run.start])
            out.append(mask)
            done = run.end
        run = _Run()

    after_name = False  # the last token was a word that is not a digit word
    for match in TOKENS.finditer(text):
        number, word, separator = match.groups()
        start, end = match.span()
        lower = word.lower() if word is not None else ""
        if separator is not None:
            run.gap += end - start
            if run.start is not None and run.gap > MAX_GAP:
                close()
        elif number is not None and not after_name and not _name_at(text, end):
            if not run.continues():
                close()
            run.add(start, end, number)
        elif word is not None and (spoken := _spoken(lower, run)) is not None:
            if not run.continues():
                close()
            run.add(start, end, spoken)
            run.after_tens = lower in TENS
        elif lower in REPEATS:
            if not run.continues():
                close()
            if run.start is None:
                run.start = start
            run.repeat, run.gap, run.after_tens = REPEATS[lower], 0, False
        elif run.start is not None or run.carried:
            close()
        after_name = word is not None and not _digit_word(lower)
    tail = run.count() if run.digits else 0
    close()
    out.append(text[done:])
    return "".join(out), tail


def _digit_word(word: str) -> bool:
    return word in UNITS or word in TEENS or word in TENS or word in REPEATS


def _name_at(text: str, index: int) -> bool:
    """Whether a word other than a digit word starts at `index` (digits glued to it are part
    of an identifier)."""
    word = WORD.match(text, index)
    return word is not None and not _digit_word(word.group().lower())


def _spoken(word: str, run: _Run) -> str | None:
    """The digits a spoken word stands for; a unit after "forty" fills its ones place."""
    if word in UNITS:
        if run.after_tens and run.gap <= 1 and word not in ("zero", "oh"):
            run.digits[-1] = run.digits[-1][:-1]  # "forty one": 41, not 401
        return UNITS[word]
    if word in TEENS:
        return TEENS[word]
    if word in TENS:
        return TENS[word] + "0"
    return None


def keep(text: str) -> str:
    """The identity: what `masker(False)` gives."""
    return text


def masker(enabled: bool) -> Callable[[str], str]:
    """`redact` when `enabled`, else `keep`."""
    return redact if enabled else keep
