"""The AudioSocket carrier: each TCP connection from Asterisk is a call.

In: connections on agent.host:agent.audiosocket_port (0: no listener) and the process's
`CallIntake`. The intake admits each connection as it is accepted, before anything is read:
one from a peer outside agent.allowed_peers is closed at once (no frame), one that arrives
while the agent drains or holds agent.max_calls calls gets a hang-up frame; both are logged
and counted as refused. Out: each admitted call holds a place and, once its UUID frame
arrives, runs the agent over an `AudioSocketLeg` (pipeline/telephony/audiosocket.py) through
the intake until either side hangs up. A connection that breaks the protocol is hung up and
refused; every call runs in its own task, so one call's failure never reaches another.
"""

import asyncio
import logging

from pipeline.intake.calls import CallIntake
from pipeline.telephony.audiosocket import (
    HANGUP,
    AudioSocketError,
    AudioSocketLeg,
    frame,
    read_call_id,
)
from pipeline.telephony.media_transport import PhoneMediaTransport

log = logging.getLogger(__name__)

UUID_TIMEOUT_S = 5.0  # a connection must say which call it is within this


class AudioSocketServer:
    """Listens for AudioSocket connections and hands each call to the intake."""

    def __init__(self, intake: CallIntake) -> None:
        self.intake = intake
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> asyncio.Server:
        self._server = await asyncio.start_server(self._accept, host, port)
        return self._server

    def close(self) -> None:
        """Stop listening; calls in progress go on until they end."""
        if self._server is not None:
            self._server.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        host = peer[0] if peer else ""
        carrier = f"AudioSocket from {host}"
        refusal = self.intake.admit(host, carrier)
        if refusal is not None:
            if refusal != "peer":  # a stranger gets nothing, not even a hang-up
                writer.write(frame(HANGUP))
            writer.close()
            return
        with self.intake.place():
            await self._take_call(reader, writer, carrier)

    async def _take_call(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, carrier: str
    ) -> None:
        """The admitted connection's call, from its UUID frame until either side hangs up."""
        try:
            call_id = await read_call_id(reader, UUID_TIMEOUT_S)
        except (AudioSocketError, TimeoutError, asyncio.IncompleteReadError) as exc:
            reason = str(exc) or type(exc).__name__
            self.intake.refuse(reason, carrier, level=logging.ERROR)
            writer.write(frame(HANGUP))
            writer.close()
            return
        leg = AudioSocketLeg(call_id, reader, writer)
        name = f"audiosocket-{call_id}"
        try:
            frame_ms = self.intake.settings.agent.caller_frame_ms
            transport = PhoneMediaTransport(leg, name=name, frame_ms=frame_ms)
            await self.intake.run_agent_call(transport, name)
        finally:
            await leg.close()


async def start_audiosocket(intake: CallIntake) -> AudioSocketServer | None:
    """The listener on agent.host:agent.audiosocket_port, or None when that port is 0."""
    agent = intake.settings.agent
    if not agent.audiosocket_port:
        return None
    server = AudioSocketServer(intake)
    try:
        await server.start(agent.host, agent.audiosocket_port)
    except OSError as exc:
        raise SystemExit(
            f"switchboard serve: cannot listen for AudioSocket on {agent.host}:"
            f"{agent.audiosocket_port} ({exc.strerror}); set agent.audiosocket_port "
            "(SWITCHBOARD_AGENT__AUDIOSOCKET_PORT) to a free port, or 0 for no listener"
        ) from exc
    log.info("AudioSocket calls on tcp://%s:%d", agent.host, agent.audiosocket_port)
    return server
