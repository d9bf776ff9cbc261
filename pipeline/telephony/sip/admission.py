"""Whether a new INVITE may become a call, and if not, the answer it gets.

In: an INVITE outside any dialog and the address it came from. Out: None (admit it) or the
refusal to send: 420 for extensions we do not support (Require), 481 for a re-INVITE of a
dialog we do not know, 403 for a peer outside agent.sip_allowed_peers, 401 with a digest
challenge, 503 while the agent drains, agent.sip_busy_status at agent.sip_max_calls.
"""

import logging
from collections.abc import Callable

from pipeline.settings import AgentSettings
from pipeline.telephony.sip.access import DigestAuth, PeerFilter
from pipeline.telephony.sip.message import SipMessage, header_param
from pipeline.telephony.sip.responses import response

log = logging.getLogger(__name__)


class Admission:
    def __init__(
        self,
        settings: AgentSettings,
        active_calls: Callable[[], int],
        accepting: Callable[[], bool],
    ) -> None:
        self.settings = settings
        self.active_calls = active_calls
        self.accepting = accepting
        self.peers = PeerFilter([str(net) for net in settings.sip_allowed_peers])
        self.auth = (
            DigestAuth(settings.sip_auth_user, settings.sip_auth_password)
            if settings.sip_auth_user
            else None
        )

    def refusal(self, invite: SipMessage, host: str) -> SipMessage | None:
        required = invite.get("Require")
        if required:
            return response(invite, 420, headers=[("Unsupported", required)])
        if header_param(invite.get("To"), "tag"):
            return response(invite, 481)  # a re-INVITE for a dialog that is not ours
        if not self.peers.allows(host):
            log.info("sip: 403 to %s (not in agent.sip_allowed_peers)", host)
            return response(invite, 403)
        if self.auth is not None and not self.auth.check(invite):
            return response(invite, 401, headers=[("WWW-Authenticate", self.auth.challenge())])
        if not self.accepting():
            return response(invite, 503, headers=[("Retry-After", "30")])
        busy = self.settings.sip_busy_status
        if self.active_calls() >= self.settings.sip_max_calls:
            log.info("sip: %d calls already; %d to %s", self.active_calls(), busy, host)
            return response(invite, busy)
        return None
