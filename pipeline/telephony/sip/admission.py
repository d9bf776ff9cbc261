"""Whether a new INVITE may become a call, and if not, the answer it gets.

In: an INVITE outside any dialog and the address it came from. Out: None (admit it) or the
refusal to send: 420 for extensions we do not support (Require), 403 for a peer outside
agent.allowed_peers (the listeners drop such peers before this; it guards any other path),
401 with a digest challenge, 503 while the agent drains, agent.sip_busy_status at
agent.max_calls (counted by the `CallGate`, over every carrier when the gate is the agent's
call intake). `challenge` is the digest check alone, for a re-INVITE inside a dialog.
"""

import logging

from pipeline.settings import AgentSettings
from pipeline.telephony.call_gate import CallGate
from pipeline.telephony.sip.access import DigestAuth
from pipeline.telephony.sip.message import SipMessage
from pipeline.telephony.sip.responses import response

log = logging.getLogger(__name__)


class Admission:
    def __init__(self, settings: AgentSettings, gate: CallGate) -> None:
        self.settings = settings
        self.gate = gate
        self.auth = (
            DigestAuth(settings.sip_auth_user, settings.sip_auth_password)
            if settings.sip_auth_user
            else None
        )

    def refusal(self, invite: SipMessage, host: str) -> SipMessage | None:
        required = invite.get("Require")
        if required:
            return response(invite, 420, headers=[("Unsupported", required)])
        refusal = self.gate.refusal(host)
        if refusal == "peer":
            log.info("sip: 403 to %s (not in agent.allowed_peers)", host)
            return response(invite, 403)
        if (challenge := self.challenge(invite)) is not None:
            return challenge
        if refusal == "draining":
            return response(invite, 503, headers=[("Retry-After", "30")])
        if refusal == "busy":
            busy = self.settings.sip_busy_status
            log.info("sip: agent.max_calls reached; %d to %s", busy, host)
            return response(invite, busy)
        return None

    def challenge(self, request: SipMessage) -> SipMessage | None:
        """401 with a fresh digest challenge when authentication is on and `request` carries
        no valid credentials; None when it may go on."""
        if self.auth is None or self.auth.check(request):
            return None
        return response(request, 401, headers=[("WWW-Authenticate", self.auth.challenge())])
