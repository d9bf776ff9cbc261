"""An echo SIP agent behind the SIP proxy, in a process of its own (so a test can SIGKILL it).

In: agent settings as JSON (argv[1]), as tests/sip_echo_process.py takes them. Out: prints
"ready" once it listens, then one JSON line per finished call (`call_id`, `audio_bytes`,
`digits`, `ended_by`). SIGTERM drains it as `switchboard serve` drains: its call gate stops
accepting (new INVITEs and OPTIONS get 503), the calls in progress go on, and the process
exits once none is left.
"""

import asyncio
import json
import logging
import signal
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


async def _serve(settings) -> None:
    from pipeline.telephony.call_gate import LocalCallGate
    from pipeline.telephony.sip.handler import EchoHandler
    from pipeline.telephony.sip.server import SipServer

    draining = asyncio.Event()

    class RecordingEcho(EchoHandler):
        async def __call__(self, media, call):
            ended = await super().__call__(media, call)
            record = self.calls[call.call_id]
            print(json.dumps({"call_id": call.call_id, **record.__dict__}), flush=True)
            return ended

    gate = LocalCallGate(
        settings.allowed_peers, settings.max_calls, accepting=lambda: not draining.is_set()
    )
    server = SipServer(settings, RecordingEcho(), gate=gate)
    await server.start()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, draining.set)
    print("ready", flush=True)
    await draining.wait()
    while server.active_calls():
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)  # the last BYE's 200 goes out, retransmissions are answered
    await server.close()


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    from pipeline.settings import AgentSettings

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    asyncio.run(_serve(AgentSettings(**json.loads(sys.argv[1]))))
