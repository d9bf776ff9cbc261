"""The supervisor of `serve --cpu`'s children: a child that keeps exiting is restarted after
growing delays and at most `max_restarts` times in a window, and a restart that fails is
logged and tried again: the watcher never stops on its own. Real child processes (small
Python programs that note when they start and exit)."""

import logging
import shutil
import sys
import time
from pathlib import Path

import pytest

from pipeline.serve.supervisor import Child, RestartPolicy, Supervisor

CRASHING = (
    "import sys, time; f = open(sys.argv[1], 'a'); f.write(f'start {time.time()}\\n'); "
    "f.flush(); time.sleep(0.1); f.write(f'exit {time.time()}\\n'); sys.exit(3)"
)
SLEEPING = "import time; time.sleep(60)"


def child(code: str, *args: str, log_path: Path | None = None) -> Child:
    return Child(
        name="child",
        args=list(args),
        healthy=lambda: None,
        hint="",
        log_path=log_path,
        program=[sys.executable, "-c", code],
    )


def wait_for(condition, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def supervise():
    running: list[Supervisor] = []

    def start(children: list[Child], policy: RestartPolicy) -> Supervisor:
        running.append(Supervisor(children, policy=policy, poll_s=0.05))
        running[-1].start(timeout_s=20)
        return running[-1]

    yield start
    for supervisor in running:
        supervisor.stop(grace_s=1)


def test_the_delay_doubles_up_to_a_cap_and_a_full_window_waits():
    policy = RestartPolicy(first_delay_s=1, max_delay_s=30, max_restarts=5, window_s=300)
    assert policy.delay([], now=1000) == 1
    assert policy.delay([999], now=1000) == 2
    assert policy.delay([997, 998, 999], now=1000) == 8
    assert policy.delay([996, 997, 998, 999], now=1000) == 16
    five = [995, 996, 997, 998, 999]
    assert policy.delay(five, now=1000) == 295  # room again when 995 leaves the window
    assert policy.delay([100, 200], now=1000) == 1  # restarts long ago are forgotten
    assert policy.delay([600, 800, 801, 802, 803], now=1000) == 16  # 4 in the window
    roomy = RestartPolicy(first_delay_s=1, max_delay_s=30, max_restarts=10, window_s=300)
    assert roomy.delay(list(range(990, 999)), now=1000) == 30  # 2**9 s, capped


def test_a_crash_looping_child_backs_off_and_is_capped(supervise, tmp_path):
    events = tmp_path / "events"
    policy = RestartPolicy(first_delay_s=0.1, max_delay_s=0.4, max_restarts=3, window_s=60)
    supervisor = supervise([child(CRASHING, str(events))], policy)

    def lines(kind: str) -> list[float]:
        text = events.read_text() if events.exists() else ""
        return [float(line.split()[1]) for line in text.splitlines() if line.startswith(kind)]

    wait_for(lambda: len(lines("start")) == 4)  # the first start and three restarts
    time.sleep(2.0)  # with no cap it would have been restarted again by now
    starts, exits = lines("start"), lines("exit")
    assert len(starts) == 4, starts
    gaps = [start - exited for start, exited in zip(starts[1:], exits, strict=False)]
    for gap, delay in zip(gaps, (0.1, 0.2, 0.4), strict=True):
        assert gap >= delay - 0.01, (gaps, "restarted before its delay")
    watched = supervisor.children[0]
    assert watched.restarts == 3 and watched.restart_due is not None  # due, not given up
    assert watched.restart_due - time.monotonic() > 50  # once the first restart leaves the window


def test_a_failed_restart_is_logged_and_retried(supervise, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="pipeline.serve.supervisor")
    logs = tmp_path / "logs"
    logs.mkdir()
    policy = RestartPolicy(first_delay_s=0.1, max_delay_s=0.2, max_restarts=100, window_s=60)
    supervisor = supervise([child(SLEEPING, log_path=logs / "child.log")], policy)
    watched = supervisor.children[0]
    first = watched.process
    shutil.rmtree(logs)  # its log directory is gone: starting it again fails
    first.kill()
    wait_for(lambda: caplog.text.count("restarting child failed") >= 2)  # failed, tried again
    assert "exited with code -9" in caplog.text
    logs.mkdir()
    wait_for(lambda: watched.process is not first and watched.process.poll() is None)
    assert (logs / "child.log").exists()
