"""SIP messages (RFC 3261): parse bytes into a request or response, serialize them back.

In: one datagram or one framed TCP message. Out: `SipMessage` (start line, headers in order
with compact names expanded, body), or `SipParseError` saying what is wrong. A message whose
start line cannot be read, or that is over MAX_MESSAGE bytes, is unparseable (the listener
drops it); one with a readable start
line but a bad header set is answered 400 by the server: a missing or malformed mandatory
header, a number that is not ASCII digits within its range (CSeq, Content-Length,
Max-Forwards, Expires), more than MAX_HEADERS header values, or more than MAX_VALUES values
of one multi-value header (Via, Route, Record-Route).

Parsing takes time linear in the size of the message: header values are scanned by patterns
whose repetitions are possessive and never fail part-way (an unclosed quote or `<` runs to
the end of the value: sip/header_values.py), and past a limit only the mandatory headers are
still read.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice

from pipeline.telephony.ascii_number import ascii_number
from pipeline.telephony.sip.header_values import header_param, iter_values

COMPACT = {
    "i": "Call-ID", "m": "Contact", "e": "Content-Encoding", "l": "Content-Length",
    "c": "Content-Type", "f": "From", "s": "Subject", "k": "Supported", "t": "To",
    "v": "Via", "r": "Refer-To", "b": "Referred-By", "o": "Event", "u": "Allow-Events",
}  # fmt: skip
CANONICAL = {
    name.lower(): name
    for name in (
        *COMPACT.values(), "CSeq", "Max-Forwards", "WWW-Authenticate", "Authorization",
        "Allow", "Accept", "Server", "User-Agent", "Record-Route", "Route", "Expires",
        "Subscription-State", "Reason",
    )
}  # fmt: skip
MANDATORY = ("Via", "From", "To", "Call-ID", "CSeq")
# Headers whose comma-separated values are separate entries (Via may be folded that way).
MULTI_VALUE = {"Via", "Record-Route", "Route"}
NUMERIC = {"Max-Forwards": 255, "Expires": 2**32 - 1}  # header: highest value
MAX_MESSAGE = 65535
MAX_HEADERS = 256  # header values in one message
MAX_VALUES = 32  # values of one multi-value header (all its lines together)
REQUEST_LINE = re.compile(r"([A-Za-z]+) (\S+) SIP/2\.0")
STATUS_LINE = re.compile(r"SIP/2\.0 ([1-6][0-9][0-9])(?: (.*))?")
HEADER_NAME = re.compile(r"[A-Za-z0-9!%*_+`'~.-]+")
CSEQ = re.compile(r"([0-9]{1,10})[ \t]+([A-Za-z]+)")


class SipParseError(ValueError):
    """The bytes are not an acceptable SIP message; `message` is set when the start line and
    headers were readable enough to answer (400), None when the bytes must be dropped."""

    def __init__(self, reason: str, message: SipMessage | None = None) -> None:
        super().__init__(reason)
        self.message = message


@dataclass
class SipMessage:
    """A request (method, uri) or a response (status, reason), headers and body."""

    method: str = ""
    uri: str = ""
    status: int = 0
    reason: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @property
    def is_request(self) -> bool:
        return bool(self.method)

    def get(self, name: str, default: str = "") -> str:
        """The first value of header `name` (canonical name, any case)."""
        key = name.lower()
        return next((v for n, v in self.headers if n.lower() == key), default)

    def get_all(self, name: str) -> list[str]:
        key = name.lower()
        return [v for n, v in self.headers if n.lower() == key]

    def set(self, name: str, value: str) -> None:
        """Replace every `name` header with one value (appended when absent)."""
        self.headers = [(n, v) for n, v in self.headers if n.lower() != name.lower()]
        self.headers.append((name, value))

    @property
    def cseq(self) -> tuple[int, str]:
        """(number, METHOD) of the CSeq header; ValueError when it is not that."""
        match = CSEQ.fullmatch(self.get("CSeq").strip(" \t"))
        if match is None or int(match.group(1)) >= 2**31:
            raise ValueError(f"bad CSeq: {self.get('CSeq')[:40]!r}")
        return int(match.group(1)), match.group(2).upper()

    @property
    def branch(self) -> str:
        return header_param(self.get("Via"), "branch")

    def to_bytes(self) -> bytes:
        start = (
            f"{self.method} {self.uri} SIP/2.0"
            if self.is_request
            else f"SIP/2.0 {self.status} {self.reason}"
        )
        lines = [start, *(f"{n}: {v}" for n, v in self.headers if n != "Content-Length")]
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


def parse(data: bytes) -> SipMessage:
    """One SIP message from `data`; raises SipParseError."""
    if len(data) > MAX_MESSAGE:
        raise SipParseError("message too large")
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = data.partition(b"\n\n")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SipParseError(f"headers are not UTF-8: {exc}") from None
    lines = text.replace("\r\n", "\n").split("\n")
    message = _start_line(lines[0].strip())
    try:
        _headers(message, lines[1:])
        _body(message, body)
    except SipParseError as exc:
        raise SipParseError(str(exc), message) from None
    return message


def _start_line(line: str) -> SipMessage:
    if match := REQUEST_LINE.fullmatch(line):
        return SipMessage(method=match.group(1).upper(), uri=match.group(2))
    if match := STATUS_LINE.fullmatch(line):
        return SipMessage(status=int(match.group(1)), reason=match.group(2) or "")
    raise SipParseError(f"not a SIP start line: {line[:60]!r}")


def _unfold(lines: list[str]) -> Iterator[str]:
    """Header lines, each with its folded continuation lines (starting with SP/HT) joined."""
    current: list[str] = []
    for line in lines:
        if not line.strip():
            continue
        if line[0] in " \t" and current:
            current.append(line.strip())
            continue
        if current:
            yield " ".join(current)
        current = [line]
    if current:
        yield " ".join(current)


def _header_line(line: str) -> tuple[str, str]:
    """(canonical name, raw value) of one unfolded header line."""
    name, colon, value = line.partition(":")
    name = name.strip()
    if not colon or not HEADER_NAME.fullmatch(name):
        raise SipParseError(f"malformed header line: {line[:60]!r}")
    return COMPACT.get(name.lower()) or CANONICAL.get(name.lower(), name), value


def _headers(message: SipMessage, lines: list[str]) -> None:
    counts: Counter[str] = Counter()
    too_many = ""
    for line in _unfold(lines):
        name, value = _header_line(line)
        if too_many:  # past a limit: only the first of each mandatory header, for the 400
            if name in MANDATORY and not counts[name]:
                counts[name] += 1
                first = next(iter_values(value), "") if name in MULTI_VALUE else value.strip()
                message.headers.append((name, first))
            continue
        room = MAX_HEADERS - len(message.headers)
        if name in MULTI_VALUE:
            room = min(room, MAX_VALUES - counts[name])
            values = list(islice(iter_values(value), room + 1))
        else:
            values = [value.strip()]
        if len(values) > room:
            multi = name in MULTI_VALUE and counts[name] + len(values) > MAX_VALUES
            kind = f"{name} values" if multi else "header values"
            too_many = f"more than {MAX_VALUES if multi else MAX_HEADERS} {kind}"
            values = values[:room]
        counts[name] += len(values)
        message.headers.extend((name, v) for v in values)
    if too_many:
        raise SipParseError(too_many)
    missing = [name for name in MANDATORY if not message.get(name)]
    if missing:
        raise SipParseError(f"missing header(s): {', '.join(missing)}")
    _numbers(message)


def _numbers(message: SipMessage) -> None:
    try:
        _, method = message.cseq
    except ValueError as exc:
        raise SipParseError(str(exc)) from None
    if message.is_request and method != message.method:
        raise SipParseError("CSeq method does not match the request method")
    for name, high in NUMERIC.items():
        value = message.get(name)
        if value and ascii_number(value, high) is None:
            raise SipParseError(f"bad {name}: {value[:20]!r} (0 to {high}, ASCII digits)")


def _body(message: SipMessage, body: bytes) -> None:
    lengths = set(message.get_all("Content-Length"))
    if len(lengths) > 1:
        raise SipParseError("Content-Length headers that disagree")
    length = message.get("Content-Length")
    if not length:
        message.body = body
        return
    count = ascii_number(length, MAX_MESSAGE)
    if count is None:
        raise SipParseError(f"bad Content-Length: {length[:20]!r}")
    if count > len(body):
        raise SipParseError(f"Content-Length {count} but only {len(body)} body bytes")
    message.body = body[:count]
