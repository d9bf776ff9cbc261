"""Measures the SIP proxy on one machine: spread, time to mark a dead agent down, failover, and
INVITE-to-200 through Kamailio against direct, in the same run (docs/BENCHMARKS.md).

    .venv/bin/python tests/bench_sip_proxy.py [--calls 200] [--json out.json]

In: the rig of tests/proxy_rig.py (the chart's kamailio.cfg in front of two echo agents), sipp
as the PBX. Out: a JSON report on stdout: calls per agent for `--calls` sipp calls (5 at a
time, with audio); INVITE-to-200 p50/p90 of `--calls` calls one at a time through the proxy and
as many straight to an agent, interleaved (tests/timed_uac.py, monotonic clock); after one
agent is SIGKILLed, the seconds until the dispatcher marks it inactive, and sipp's
INVITE-to-200 (4 ms steps) of two calls sent at once before that: round robin gives the dead
agent one, which fails over after sipProxy.timers.noAnswerMs.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from proxy_rig import HOSTS, Rig  # noqa: E402
from timed_uac import timed_call  # noqa: E402


def _calls(rig: Rig, calls: int, host: str = "") -> subprocess.Popen:
    """sipp placing `calls` calls (5 at a time) through the proxy, or straight to `host`."""
    extra = ("-trace_rtt", "-rtt_freq", "1")
    options = {"calls": calls, "limit": 5, "pause_ms": 200, "timeout_s": 30 + calls}
    return rig.start("call", host=host, extra=extra, **options)


def _invite_to_200_ms(rig: Rig, sipp: subprocess.Popen) -> list[float]:
    """Each call's INVITE-to-200 in ms (sipp's rtd on the 200 of tests/sipp/call.xml)."""
    if sipp.wait(300) != 0:
        raise RuntimeError(f"sipp failed ({sipp.returncode}); see {rig.folder}")
    csv = rig.folder / f"call_{sipp.pid}_rtt.csv"
    rows = [line.split(";") for line in csv.read_text().splitlines()[1:] if line.strip()]
    return [float(row[1]) for row in rows]


def _summary(values: list[float]) -> dict:
    ordered = sorted(values)
    return {
        "calls": len(values),
        "p50_ms": round(statistics.median(ordered), 3),
        "p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))], 3),
        "max_ms": round(ordered[-1], 3),
    }


def measure(folder: Path, calls: int) -> dict:
    dead, live = HOSTS
    rig = Rig(folder)
    try:
        for host in HOSTS:
            rig.wait_state(host, "A")
        spread_run = _calls(rig, calls)
        _invite_to_200_ms(rig, spread_run)
        proxied, direct = [], []
        for _ in range(calls):
            proxied.append(timed_call(("127.0.0.1", rig.proxy.port)))
            direct.append(timed_call((live, rig.port)))
        rig.agents[dead].process.kill()
        before = _calls(rig, 2)  # sent at once: round robin gives the dead agent one
        down_s = rig.wait_state(dead, "I")
        failover = _invite_to_200_ms(rig, before)
        after = _invite_to_200_ms(rig, _calls(rig, 10))
        records = {host: rig.records(host) for host in HOSTS}
    finally:
        rig.stop()
    tag = f"-{spread_run.pid}@"
    spread = {host: sum(tag in r["call_id"] for r in rs) for host, rs in records.items()}
    return {
        "spread": {"calls": calls, "per_agent": spread},
        "invite_to_200": {"via_kamailio": _summary(proxied), "direct": _summary(direct)},
        "added_p50_ms": round(statistics.median(proxied) - statistics.median(direct), 3),
        "killed_agent": {
            "marked_down_s": round(down_s, 2),
            "invite_to_200_before_mark_down_ms": failover,
            "after_mark_down": _summary(after),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        report = measure(Path(folder), args.calls)
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
