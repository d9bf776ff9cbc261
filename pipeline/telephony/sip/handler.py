"""What the SIP server does with an answered call: a `CallHandler`.

In: the call's `CallMedia` (audio and DTMF both ways) and `CallInfo` (who calls whom). Out:
how the bot side ended the call: "hangup" (the server sends BYE) or "transfer" (the server
sends REFER to the configured extension). When the caller hangs up first, `media.read()`
returns None and whatever the handler returns is ignored. An INVITE that never reaches the
handler is reported to a `NotStartedHook`: "failed" for a 500 while setting the call up,
"refused" for any other final answer but a digest challenge (401) or a cancel (487).

`EchoHandler` is a real handler for checking the telephony stack without the agent: it plays
the caller's audio back, keeps every DTMF digit, hangs up on "#" and transfers on "0".
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from pipeline.telephony.call_media import CallMedia, Dtmf

CallEnd = Literal["hangup", "transfer"]
NotStartedHook = Callable[[Literal["refused", "failed"]], None]


def ignore_not_started(_outcome: Literal["refused", "failed"]) -> None:
    """The default `NotStartedHook`: a server with no one counting its refusals."""


@dataclass(frozen=True)
class CallInfo:
    call_id: str
    caller: str  # the From URI
    callee: str  # the request URI
    peer: str  # host:port the INVITE came from
    # The handler may add headers for the REFER of a "transfer" (transfer.context_headers).
    transfer_context: list[tuple[str, str]] = field(default_factory=list, compare=False)


class CallHandler(Protocol):
    async def __call__(self, media: CallMedia, call: CallInfo) -> CallEnd: ...


@dataclass
class EchoRecord:
    """What one call brought to the echo handler."""

    audio_bytes: int = 0
    digits: str = ""
    ended_by: str = ""  # "caller", "hangup" or "transfer"


@dataclass
class EchoHandler:
    """Echoes audio, collects DTMF; "#" hangs up, "0" transfers. `calls` by Call-ID."""

    calls: dict[str, EchoRecord] = field(default_factory=dict)

    async def __call__(self, media: CallMedia, call: CallInfo) -> CallEnd:
        record = self.calls.setdefault(call.call_id, EchoRecord())
        while (item := await media.read()) is not None:
            if isinstance(item, Dtmf):
                record.digits += item.digit
                if item.digit in "#0":
                    record.ended_by = "hangup" if item.digit == "#" else "transfer"
                    return record.ended_by  # type: ignore[return-value]
            else:
                record.audio_bytes += len(item)
                await media.write(item)
        record.ended_by = "caller"
        return "hangup"
