"""The final answers that retransmitted requests get again (RFC 3261 17.2.3).

In: final responses the server sent, each under its request's transaction: the top Via's
branch and sent-by, and the CSeq method. Out: the bytes sent the first time, for a request of
the same transaction. Only RFC 3261 branches (magic cookie) identify a transaction. The
table is bounded by count and by bytes; the oldest answers go first.
"""

from collections import OrderedDict

from pipeline.telephony.sip.message import SipMessage

MAX_ANSWERS = 4096
MAX_BYTES = 4 * 1024 * 1024
Key = tuple[str, str, str]


def transaction(message: SipMessage) -> Key | None:
    """(branch, sent-by, method) of a request or of the response to it; None without an
    RFC 3261 branch."""
    branch = message.branch
    if not branch.startswith("z9hG4bK") or len(branch) <= 7:
        return None
    sent_by = message.get("Via").partition(" ")[2].split(";", 1)[0].strip().lower()
    return branch, sent_by, message.cseq[1]


class AnswerCache:
    def __init__(self, max_answers: int = MAX_ANSWERS, max_bytes: int = MAX_BYTES) -> None:
        self.max_answers, self.max_bytes = max_answers, max_bytes
        self.bytes = 0
        self._answers: OrderedDict[Key, bytes] = OrderedDict()

    def __len__(self) -> int:
        return len(self._answers)

    def remember(self, answer: SipMessage, data: bytes) -> None:
        """Keep `data` (the final `answer` as sent) for retransmissions of its request."""
        key = transaction(answer)
        if key is None or answer.status < 200 or len(data) > self.max_bytes:
            return
        if (old := self._answers.pop(key, None)) is not None:
            self.bytes -= len(old)
        self._answers[key] = data
        self.bytes += len(data)
        while len(self._answers) > self.max_answers or self.bytes > self.max_bytes:
            _, dropped = self._answers.popitem(last=False)
            self.bytes -= len(dropped)

    def get(self, request: SipMessage) -> bytes | None:
        """The answer already sent to this request's transaction, if any."""
        key = transaction(request)
        return self._answers.get(key) if key is not None else None
