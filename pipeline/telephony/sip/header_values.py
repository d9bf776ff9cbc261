"""The values inside SIP headers: comma-separated entries, the URI of an address, parameters.

In: one header's value as text. Out: its comma-separated values (`iter_values`,
`split_values`), the URI of a name-addr or addr-spec (`header_uri`), a `;name=value` parameter
(`header_param`), a quoted string's content (`unquote`). Each takes time linear in the value:
the patterns' repetitions are possessive and never fail part-way (an unclosed quote or `<`
runs to the end of the value), and only the first MAX_PARAMS parameters are looked at.
"""

import re
from collections.abc import Iterator
from itertools import islice

MAX_PARAMS = 64  # ;parameters of one header value that are looked at
_QUOTED = r'"[^"\\]*+(?:\\.[^"\\]*+)*+"?'  # a quoted string; unclosed, it runs to the end
# One comma-separated value; the lookahead skips separators and blanks without a match each.
_VALUE = re.compile(rf'(?=[^\s,])(?:{_QUOTED}|<[^>]*+>?|[^"<,]++)++', re.S)
# What precedes ;params: a display name and the first <uri> (group 1), or a bare URI / sent-by.
_ADDRESS = re.compile(rf'(?:{_QUOTED}|[^"<;]++)*+(?:<([^>]*+)>?)?(?:{_QUOTED}|[^";]++)*+', re.S)
_PARAM = re.compile(rf'(?:{_QUOTED}|[^";]++)++', re.S)  # one ;-separated parameter
_BARE = re.compile(r"[^\s,;>]*+")  # an unquoted parameter value
_ESCAPED = re.compile(r"\\(.)", re.S)


def unquote(text: str) -> str:
    """The content of a quoted string (escapes undone); other text as it is."""
    if not text.startswith('"'):
        return text
    end = -1 if len(text) > 1 and text.endswith('"') else len(text)
    return _ESCAPED.sub(r"\1", text[1:end])


def header_param(value: str, name: str) -> str:
    """A `;name=value` parameter among the first MAX_PARAMS of a header value ('' when
    absent), after its URI part: `tag` of `<sip:a;tag=x>;tag=y` is y."""
    key = name.lower()
    for match in islice(_PARAM.finditer(value, _ADDRESS.match(value).end()), MAX_PARAMS):
        param, _, param_value = match.group().partition("=")
        if param.strip().lower() == key:
            param_value = param_value.strip()
            if param_value.startswith('"'):
                return unquote(param_value)
            return _BARE.match(param_value).group()
    return ""


def header_uri(value: str) -> str:
    """The URI of a name-addr or addr-spec header value (From, To, Contact)."""
    uri = _ADDRESS.match(value).group(1)
    return uri if uri is not None else value.split(";")[0].strip()


def iter_values(value: str) -> Iterator[str]:
    """Comma-separated header values, not splitting inside quotes or <...>."""
    for match in _VALUE.finditer(value):
        if part := match.group().strip():
            yield part


def split_values(value: str) -> list[str]:
    return list(iter_values(value))
