"""Child processes for `serve --cpu`: start them, wait for their health, restart, stop.

In: a list of Child specs (a command and a health probe). Out: running processes that die
with their parent (Linux PR_SET_PDEATHSIG, so a killed `serve` leaves no orphans), a rich
progress display while their models load, a watcher that logs and restarts a child that
exits, and `stop()` that ends them all (SIGTERM, then SIGKILL).
"""

import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGTERM it when the parent dies."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    """One child process: `switchboard <args>`, healthy when `healthy()` is None."""

    name: str
    args: list[str]
    healthy: Callable[[], str | None]  # None when ready, else what it is waiting for
    hint: str  # how to run it by hand, for error messages
    log_path: Path | None = None
    env: dict[str, str] = field(default_factory=dict)  # added to this process's environment
    process: subprocess.Popen | None = field(default=None, repr=False)
    restarts: int = 0

    def start(self) -> None:
        out = self.log_path.open("ab") if self.log_path else None
        command = [sys.executable, "-m", "pipeline.cli", *self.args]
        self.process = subprocess.Popen(
            command,
            stdout=out,
            stderr=out,
            env=os.environ | self.env,
            preexec_fn=_die_with_parent,
        )
        log.info("started %s (pid %d): %s", self.name, self.process.pid, " ".join(self.args))

    def exit_code(self) -> int | None:
        return None if self.process is None else self.process.poll()


class ChildFailed(RuntimeError):
    """A child exited or did not become healthy in time; the message says which and why."""


class Supervisor:
    """Starts children, waits for them, restarts one that exits, stops them all."""

    def __init__(self, children: list[Child], restart: bool = True) -> None:
        self.children = children
        self.restart = restart
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
        """Log a child that exits and start it again (after a second), until stop()."""
        while not self._stopping.wait(0.5):
            for child in self.children:
                code = child.exit_code()
                if code is None or self._stopping.is_set():
                    continue
                log.error(
                    "%s (pid %d) exited with code %s; calls that need it fail until it is back%s",
                    child.name,
                    child.process.pid,
                    code,
                    "; restarting it" if self.restart else "",
                )
                if self.restart:
                    time.sleep(1.0)
                    child.restarts += 1
                    child.start()
                else:
                    child.process = None

    def stop(self, grace_s: float = 5.0) -> None:
        """SIGTERM every child, then SIGKILL those still running after `grace_s`."""
        self._stopping.set()
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
        if self._watcher:
            self._watcher.join(timeout=2)
