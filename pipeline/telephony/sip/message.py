"""SIP messages (RFC 3261): parse bytes into a request or response, serialize them back.

In: one datagram or one framed TCP message. Out: `SipMessage` (start line, headers in order
with compact names expanded, body), or `SipParseError` saying what is wrong. A message whose
start line cannot be read is unparseable (the listener drops it); one with a readable start
line but a bad header set is answered 400 by the server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

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
REQUEST_LINE = re.compile(r"^([A-Za-z]+) (\S+) SIP/2\.0$")
STATUS_LINE = re.compile(r"^SIP/2\.0 (\d{3}) ?(.*)$")
MAX_MESSAGE = 65535


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
        number, _, method = self.get("CSeq").partition(" ")
        return int(number), method.strip().upper()

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


def header_param(value: str, name: str) -> str:
    """A `;name=value` parameter of a header value ('' when absent)."""
    match = re.search(rf";\s*{re.escape(name)}\s*=\s*([^;,>\s]+)", value, re.I)
    return match.group(1).strip('"') if match else ""


def header_uri(value: str) -> str:
    """The URI of a name-addr or addr-spec header value (From, To, Contact)."""
    match = re.search(r"<([^>]*)>", value)
    return match.group(1) if match else value.split(";")[0].strip()


def split_values(value: str) -> list[str]:
    """Comma-separated header values, not splitting inside quotes or <...>."""
    parts = re.findall(r'(?:[^,"<]|"[^"]*"|<[^>]*>)+', value)
    return [p.strip() for p in parts if p.strip()]


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
        _body(message, body, sep)
    except SipParseError as exc:
        raise SipParseError(str(exc), message) from None
    return message


def _start_line(line: str) -> SipMessage:
    if match := REQUEST_LINE.match(line):
        return SipMessage(method=match.group(1).upper(), uri=match.group(2))
    if match := STATUS_LINE.match(line):
        return SipMessage(status=int(match.group(1)), reason=match.group(2))
    raise SipParseError(f"not a SIP start line: {line[:60]!r}")


def _headers(message: SipMessage, lines: list[str]) -> None:
    for line in lines:
        if not line.strip():
            continue
        if line[0] in " \t" and message.headers:  # folded continuation line
            name, value = message.headers[-1]
            message.headers[-1] = (name, f"{value} {line.strip()}")
            continue
        name, colon, value = line.partition(":")
        name = name.strip()
        if not colon or not name or not re.fullmatch(r"[A-Za-z0-9!%*_+`'~.-]+", name):
            raise SipParseError(f"malformed header line: {line[:60]!r}")
        name = COMPACT.get(name.lower()) or CANONICAL.get(name.lower(), name)
        values = split_values(value) if name in MULTI_VALUE else [value.strip()]
        message.headers.extend((name, v) for v in values)
    missing = [name for name in MANDATORY if not message.get(name)]
    if missing:
        raise SipParseError(f"missing header(s): {', '.join(missing)}")
    number, _, method = message.get("CSeq").partition(" ")
    if not number.strip().isdigit() or not method.strip() or int(number) >= 2**31:
        raise SipParseError(f"bad CSeq: {message.get('CSeq')[:40]!r}")
    if message.is_request and method.strip().upper() != message.method:
        raise SipParseError("CSeq method does not match the request method")


def _body(message: SipMessage, body: bytes, sep: bytes) -> None:
    length = message.get("Content-Length")
    if not length:
        message.body = body
        return
    if not length.isdigit():
        raise SipParseError(f"bad Content-Length: {length[:20]!r}")
    if int(length) > len(body):
        raise SipParseError(f"Content-Length {length} but only {len(body)} body bytes")
    message.body = body[: int(length)]
