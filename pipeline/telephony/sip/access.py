"""Digest authentication of SIP requests (the allowed peers are pipeline/telephony/call_gate.py).

In: a request. Out: whether its credentials are valid; the
`WWW-Authenticate` challenge to send with 401 (RFC 3261 22.4, RFC 2617 MD5 with qop=auth).
Nonces are an HMAC of their issue time, so they need no stored state and expire on their own.
Credentials are refused (never an error) when the header is longer than MAX_AUTHORIZATION or
not ASCII, lack qop=auth, name another algorithm than MD5, or give a `uri` other than the
Request-URI.
"""

import hashlib
import hmac
import re
import secrets
import time

from pipeline.telephony.sip.header_values import split_values, unquote
from pipeline.telephony.sip.message import SipMessage

NONCE_LIFETIME_S = 300
MAX_AUTHORIZATION = 2048  # characters of an Authorization header
NONCE = re.compile(r"([0-9a-f]{1,12})\.[0-9a-f]{24}")
NONCE_COUNT = re.compile(r"[0-9a-fA-F]{8}")


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - digest auth is MD5 by spec


class DigestAuth:
    """Checks `Authorization` headers against one user and password."""

    def __init__(self, user: str, password: str, realm: str = "switchboard") -> None:
        self.user, self.password, self.realm = user, password, realm
        self._secret = secrets.token_bytes(16)

    def _nonce(self, issued: int) -> str:
        mac = hmac.new(self._secret, str(issued).encode(), hashlib.sha256).hexdigest()[:24]
        return f"{issued:x}.{mac}"

    def challenge(self) -> str:
        nonce = self._nonce(int(time.time()))
        return f'Digest realm="{self.realm}", nonce="{nonce}", algorithm=MD5, qop="auth"'

    def _fresh(self, nonce: str) -> bool:
        match = NONCE.fullmatch(nonce)
        if match is None:
            return False
        issued = int(match.group(1), 16)
        fresh = 0 <= time.time() - issued < NONCE_LIFETIME_S
        return fresh and hmac.compare_digest(nonce, self._nonce(issued))

    def check(self, request: SipMessage) -> bool:
        """True when the request carries valid credentials for a fresh nonce of ours."""
        header = request.get("Authorization")
        if len(header) > MAX_AUTHORIZATION or not header.isascii():
            return False
        if not header.lower().startswith("digest "):
            return False
        params = dict(_params(header[7:]))
        nonce, uri = params.get("nonce", ""), params.get("uri", "")
        nc, cnonce = params.get("nc", ""), params.get("cnonce", "")
        if params.get("username") != self.user or params.get("realm") != self.realm:
            return False
        if params.get("algorithm", "MD5").upper() != "MD5" or params.get("qop") != "auth":
            return False
        if uri != request.uri or not NONCE_COUNT.fullmatch(nc) or not cnonce:
            return False
        if not self._fresh(nonce):
            return False
        ha1 = _md5(f"{self.user}:{self.realm}:{self.password}")
        ha2 = _md5(f"{request.method}:{uri}")
        expected = _md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
        return hmac.compare_digest(expected, params.get("response", "").lower())


def _params(text: str) -> list[tuple[str, str]]:
    """key=value or key="value" pairs of a Digest header."""
    pairs = []
    for part in split_values(text):
        key, _, value = part.partition("=")
        pairs.append((key.strip().lower(), unquote(value.strip())))
    return pairs
