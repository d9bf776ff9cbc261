"""Numbers in protocol text (SIP headers, SDP lines): ASCII digits only, within a range.

In: the text of a numeric field. Out: its value, or None when it is not 1-10 ASCII digits
(`str.isdigit` is true for "²" and `int` reads Arabic-Indic digits; neither is a SIP or SDP
number) or above the field's highest value.
"""

import re

_DIGITS = re.compile(r"[0-9]{1,10}")


def ascii_number(text: str, high: int) -> int | None:
    """`text` (spaces and tabs around it ignored) as an integer 0..`high`, else None."""
    text = text.strip(" \t")
    if _DIGITS.fullmatch(text) is None:
        return None
    value = int(text)
    return value if value <= high else None
