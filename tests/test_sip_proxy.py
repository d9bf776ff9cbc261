"""Calls through Kamailio (the chart's own configuration) to two echo agents, sipp as the PBX.

The proxy runs kamailio.cfg as the chart renders it (tests/kamailio_proxy.py) in front of two
agent processes on 127.0.0.2 and 127.0.0.3 (tests/proxy_echo_agent.py: the SIP server with
the echo handler, drained by SIGTERM as `serve` is). Checked: calls spread over both agents
with their audio, DTMF and BYE; the bot's BYE and REFER reach the caller through the proxy; an
agent SIGKILLed mid-run loses only its own calls, is marked down within 3 s, and every new call
lands on the live one; a drained agent takes no new call, finishes its calls and exits.
"""

import signal
import time
from collections import Counter

import pytest
from proxy_rig import AUDIO_BYTES, HOSTS, Rig

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def rig(tmp_path):
    rig = Rig(tmp_path)
    for host in HOSTS:
        rig.wait_state(host, "A")
    yield rig
    rig.stop()


def _complete(record: dict) -> bool:
    return record["ended_by"] == "caller" and record["audio_bytes"] >= 0.9 * AUDIO_BYTES


def test_calls_spread_over_both_agents_and_the_bot_reaches_the_caller(rig):
    rig.run("call", calls=20, limit=10)
    rig.run("bot_hangup", dtmf="#")
    rig.run("transfer", dtmf="0")
    # what the bot sent (BYE, REFER) came through the proxy: its Via on top
    messages = "".join(p.read_text() for p in rig.folder.glob("*_messages.log"))
    for method in ("BYE", "REFER"):
        start = messages.find(f"{method} sip:caller@")
        assert start >= 0, f"no {method} reached the caller"
        received = messages[start : messages.find("\n\n", start)]
        assert f"Via: SIP/2.0/UDP 127.0.0.1:{rig.proxy.port};" in received, received
    records = {host: rig.records(host) for host in HOSTS}
    calls = [r for rs in records.values() for r in rs if r["digits"] == "1"]
    assert len(calls) == 20 and all(_complete(r) for r in calls), calls
    busier = max(sum(r["digits"] == "1" for r in rs) for rs in records.values())
    assert busier <= 12, {host: len(rs) for host, rs in records.items()}  # at most 60 %
    ended = Counter(r["ended_by"] for rs in records.values() for r in rs)
    assert ended["hangup"] == 1 and ended["transfer"] == 1, ended


def test_a_killed_agent_loses_only_its_calls_and_new_calls_go_to_the_live_one(rig):
    dead, live = HOSTS
    running = rig.start("call", calls=6, pause_ms=5000)
    time.sleep(1.5)  # the six calls are up, three on each agent
    rig.agents[dead].process.kill()
    rig.run("call", calls=4)  # at once, before it is marked down: two go to it, then on
    assert rig.proxy.log().count(": next agent sip:") == 2, rig.proxy.log()
    down_s = rig.wait_state(dead, "I")
    assert down_s < 3.0, down_s
    rig.run("call", calls=10, limit=5)  # every new call succeeds
    running.wait(60)
    live_calls = rig.records(live)
    assert all(_complete(r) for r in live_calls), live_calls
    by_run = Counter(r["call_id"].split("-")[1].split("@")[0] for r in live_calls)
    assert by_run[str(running.pid)] == 3, by_run  # its calls from before went on
    assert sum(by_run.values()) == 3 + 4 + 10, by_run


def test_a_drained_agent_finishes_its_calls_takes_no_new_ones_and_exits(rig):
    drained, live = HOSTS
    running = rig.start("call", calls=4, pause_ms=4000)
    time.sleep(1.5)
    rig.agents[drained].process.send_signal(signal.SIGTERM)
    rig.wait_state(drained, "I", timeout_s=2.0)  # its OPTIONS answer is 503 now
    assert rig.agents[drained].process.poll() is None  # while it still has calls
    rig.run("call", calls=6, limit=3)
    assert running.wait(60) == 0  # the drained agent's calls finished
    assert rig.agents[drained].process.wait(15) == 0
    drained_calls = rig.records(drained)
    assert len(drained_calls) == 2 and all(_complete(r) for r in drained_calls), drained_calls
    live_calls = rig.records(live)
    assert len(live_calls) == 2 + 6 and all(_complete(r) for r in live_calls), live_calls
