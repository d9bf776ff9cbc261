"""Who may place calls: allowed peer addresses/CIDRs, and optional digest authentication.

In: a request's source address, or the request itself. Out: allowed or not; for digest, the
`WWW-Authenticate` challenge to send with 401 (RFC 3261 22.4, RFC 2617 MD5 with qop=auth).
Nonces are an HMAC of their issue time, so they need no stored state and expire on their own.
"""

import hashlib
import hmac
import ipaddress
import secrets
import time

from pipeline.telephony.sip.message import SipMessage, split_values

NONCE_LIFETIME_S = 300


class PeerFilter:
    """Allows a source address when it is inside one of the configured networks."""

    def __init__(self, allowed: list[str]) -> None:
        self.networks = [ipaddress.ip_network(cidr, strict=False) for cidr in allowed]

    def allows(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host.split("%")[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)


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
        issued_hex, _, _ = nonce.partition(".")
        try:
            issued = int(issued_hex, 16)
        except ValueError:
            return False
        fresh = time.time() - issued < NONCE_LIFETIME_S
        return fresh and hmac.compare_digest(nonce, self._nonce(issued))

    def check(self, request: SipMessage) -> bool:
        """True when the request carries valid credentials for a fresh nonce of ours."""
        header = request.get("Authorization")
        if not header.lower().startswith("digest "):
            return False
        params = dict(_params(header[7:]))
        nonce, uri = params.get("nonce", ""), params.get("uri", "")
        if params.get("username") != self.user or params.get("realm") != self.realm:
            return False
        if not self._fresh(nonce):
            return False
        ha1 = _md5(f"{self.user}:{self.realm}:{self.password}")
        ha2 = _md5(f"{request.method}:{uri}")
        if params.get("qop"):
            nc, cnonce, qop = params.get("nc", ""), params.get("cnonce", ""), params["qop"]
            expected = _md5(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
        else:
            expected = _md5(f"{ha1}:{nonce}:{ha2}")
        return hmac.compare_digest(expected, params.get("response", ""))


def _params(text: str) -> list[tuple[str, str]]:
    """key=value or key="value" pairs of a Digest header."""
    pairs = []
    for part in split_values(text):
        key, _, value = part.partition("=")
        pairs.append((key.strip().lower(), value.strip().strip('"')))
    return pairs
