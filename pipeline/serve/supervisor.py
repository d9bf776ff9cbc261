"""Child processes for `serve --cpu`: start them, wait for their health, restart, stop.

In: a list of Child specs (a command and a health probe). Out: running processes that die
with their parent (Linux PR_SET_PDEATHSIG, so a killed `serve` leaves no orphans), a rich
progress display while their models load, a watcher that logs and restarts a child that
exits, and `stop()` that ends them all (SIGTERM, then SIGKILL).

Restarts follow a RestartPolicy: the delay doubles with each restart inside the window (1 s,
2 s, 4 s ... up to 30 s), and at most `max_restarts` restarts fall in any window; past that
the next one waits until the oldest leaves it. A restart that fails (the process cannot be
started) is logged and tried again on the same schedule; the watcher never stops on its own.
"""

import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGTERM it when the parent dies."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass(frozen=True)
class RestartPolicy:
    """When to restart a child that exited, given when it was restarted before."""

    first_delay_s: float = 1.0
    max_delay_s: float = 30.0
    max_restarts: int = 5  # in any window_s
    window_s: float = 300.0

    def delay(self, restarted_at: Sequence[float], now: float) -> float:
        """Seconds from `now` until the next restart; `restarted_at`: earlier restarts."""
        recent = sorted(t for t in restarted_at if now - t < self.window_s)
        delay = min(self.first_delay_s * 2 ** len(recent), self.max_delay_s)
        if len(recent) >= self.max_restarts:  # the window is full: wait for room in it
            delay = max(delay, recent[-self.max_restarts] + self.window_s - now)
        return delay


@dataclass
class Child:
    """One child process: `program` + `args` (program: this Python's `switchboard`),
    healthy when `healthy()` is None."""

    name: str
    args: list[str]
    healthy: Callable[[], str | None]  # None when ready, else what it is waiting for
    hint: str  # how to run it by hand, for error messages
    log_path: Path | None = None
    env: dict[str, str] = field(default_factory=dict)  # added to this process's environment
    program: list[str] = field(default_factory=lambda: [sys.executable, "-m", "pipeline.cli"])
    process: subprocess.Popen | None = field(default=None, repr=False)
    restarts: int = 0
    restarted_at: list[float] = field(default_factory=list, repr=False)  # time.monotonic()
    restart_due: float | None = field(default=None, repr=False)  # when the next start is due

    def start(self) -> None:
        """Start the process; OSError when it cannot be (its log or program is missing)."""
        out = self.log_path.open("ab") if self.log_path else None
        try:
            self.process = subprocess.Popen(
                [*self.program, *self.args],
                stdout=out,
                stderr=out,
                env=os.environ | self.env,
                preexec_fn=_die_with_parent,
            )
        finally:
            if out is not None:
                out.close()  # the child has its own copy
        log.info("started %s (pid %d): %s", self.name, self.process.pid, " ".join(self.args))

    def exit_code(self) -> int | None:
        return None if self.process is None else self.process.poll()


class ChildFailed(RuntimeError):
    """A child exited or did not become healthy in time; the message says which and why."""


class Supervisor:
    """Starts children, waits for them, restarts one that exits, stops them all."""

    def __init__(
        self,
        children: list[Child],
        restart: bool = True,
        policy: RestartPolicy = RestartPolicy(),
        poll_s: float = 0.5,
    ) -> None:
        self.children = children
        self.restart = restart
        self.policy = policy
        self.poll_s = poll_s
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    def start(self, timeout_s: float) -> None:
        """Start every child and wait until all are healthy, showing progress."""
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        for child in self.children:
            child.start()
        deadline = time.monotonic() + timeout_s
        columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
        with Progress(*columns, transient=False) as progress:
            tasks = {
                c.name: progress.add_task(f"{c.name}: starting", total=1) for c in self.children
            }
            waiting = list(self.children)
            while waiting:
                for child in list(waiting):
                    self._check_alive(child)
                    problem = child.healthy()
                    if problem is None:
                        progress.update(
                            tasks[child.name], completed=1, description=f"{child.name}: ready"
                        )
                        waiting.remove(child)
                    else:
                        progress.update(tasks[child.name], description=f"{child.name}: {problem}")
                if waiting and time.monotonic() > deadline:
                    names = ", ".join(c.name for c in waiting)
                    raise ChildFailed(
                        f"{names} not ready after {timeout_s:.0f} s "
                        f"(setting agent.start_timeout_s); see {self._logs(waiting)}"
                    )
                time.sleep(0.25)
        self._watcher = threading.Thread(target=self._watch, name="supervisor", daemon=True)
        self._watcher.start()

    def _check_alive(self, child: Child) -> None:
        code = child.exit_code()
        if code is not None:
            raise ChildFailed(
                f"{child.name} exited with code {code} while starting; see {self._logs([child])}; "
                f"run it by hand to see why: {child.hint}"
            )

    def _logs(self, children: list[Child]) -> str:
        return ", ".join(str(c.log_path) for c in children if c.log_path) or "its output"

    def _watch(self) -> None:
        """Until stop(): log a child that exits and start it again when the policy says."""
        while not self._stopping.wait(self.poll_s):
            for child in self.children:
                if self._stopping.is_set():
                    return
                try:
                    self._tend(child)
                except Exception:  # never let one child's trouble end the watching
                    log.exception("supervising %s failed; still watching it", child.name)

    def _tend(self, child: Child) -> None:
        if child.restart_due is not None:
            if time.monotonic() >= child.restart_due:
                self._restart(child)
            return
        code = child.exit_code()
        if code is None:
            return
        log.error(
            "%s (pid %d) exited with code %s; calls that need it fail until it is back",
            child.name,
            child.process.pid,
            code,
        )
        if self.restart:
            self._schedule(child)
        else:
            child.process = None

    def _schedule(self, child: Child) -> None:
        now = time.monotonic()
        delay = self.policy.delay(child.restarted_at, now)
        child.restart_due = now + delay
        log.info("restarting %s in %.1f s", child.name, delay)

    def _restart(self, child: Child) -> None:
        now = time.monotonic()
        child.restarted_at = [t for t in child.restarted_at if now - t < self.policy.window_s]
        child.restarted_at.append(now)
        child.restarts += 1
        child.restart_due = None
        try:
            child.start()
        except Exception:
            log.exception("restarting %s failed", child.name)
            self._schedule(child)

    def stop(self, grace_s: float = 5.0) -> None:
        """SIGTERM every child, then SIGKILL those still running after `grace_s`."""
        self._stopping.set()
        if self._watcher:  # first, so that it starts nothing more
            self._watcher.join(timeout=self.poll_s + 5)
        running = [c.process for c in self.children if c.process and c.process.poll() is None]
        for process in running:
            process.terminate()
        deadline = time.monotonic() + grace_s
        for process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
