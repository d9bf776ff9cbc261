"""The SIP carrier: each answered SIP call runs the agent through the call intake.

In: the process's `CallIntake` (settings, calls in progress, draining). Out: a started
`SipServer` (pipeline/telephony/sip/) on agent.host:agent.sip_port whose handler runs the
agent on the call's RTP leg and tells the SIP side how the bot ended it: "transfer" when the
agent transferred the call (the caller asked for a person or pressed 0, the LLM called
transfer_to_human, or a service stayed down: the server sends REFER to
agent.sip_transfer_target, carrying the call id, intent and order number as
agent.transfer_context says), else "hangup" (BYE). The intake is the server's `CallGate`:
the server admits each INVITE through it (a peer outside agent.allowed_peers is not served,
draining 503, agent.max_calls calls over every carrier agent.sip_busy_status) and holds the
call's place until the call ends; every INVITE the server refuses or fails to set up is
counted by the intake.
"""

from pipeline.agent.metrics import SIP_DROPPED
from pipeline.intake.calls import CallIntake, count_not_started
from pipeline.telephony.call_media import CallMedia
from pipeline.telephony.media_transport import PhoneMediaTransport
from pipeline.telephony.sip.handler import CallEnd, CallInfo
from pipeline.telephony.sip.server import SipServer
from pipeline.telephony.sip.transfer import context_headers

DROP_REASONS = ("peer", "tcp full", "tcp unread")  # SipTransport.dropped's keys


class AgentCallHandler:
    """A `CallHandler` that runs the agent's pipeline through the intake."""

    def __init__(self, intake: CallIntake) -> None:
        self.intake = intake

    async def __call__(self, media: CallMedia, call: CallInfo) -> CallEnd:
        name = f"sip-{call.call_id}"
        frame_ms = self.intake.settings.agent.caller_frame_ms
        transport = PhoneMediaTransport(media, name=name, frame_ms=frame_ms)
        tools = await self.intake.run_agent_call(transport, name, can_transfer=True)
        if not tools.transferred:
            return "hangup"
        fields = {"call_id": call.call_id, **tools.handoff_fields()}
        style = self.intake.settings.agent.transfer_context
        call.transfer_context.extend(context_headers(fields, style))
        return "transfer"


async def start_sip(intake: CallIntake) -> SipServer:
    """The SIP server on agent.host:agent.sip_port; SystemExit naming the setting when the
    port is taken."""
    agent = intake.settings.agent
    server = SipServer(
        agent,
        AgentCallHandler(intake),
        gate=intake,
        on_not_started=count_not_started,
    )
    for reason in DROP_REASONS:  # what the listener did not read, as switchboard_sip_dropped
        SIP_DROPPED.labels(reason).set_function(lambda r=reason: server.transport.dropped[r])
    try:
        await server.start()
    except OSError as exc:
        raise SystemExit(
            f"switchboard serve: cannot listen for SIP on {agent.host}:{agent.sip_port} "
            f"({exc.strerror}); set --sip-port (SWITCHBOARD_AGENT__SIP_PORT) to a free port"
        ) from exc
    return server
