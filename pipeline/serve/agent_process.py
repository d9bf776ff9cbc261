"""The life of a process that takes calls (`serve`, `demo --interactive`), written once.

In: the command's name (for error messages), settings, what the process does once it may
take calls (`main(settings) -> exit code`), and, in CPU mode, where the children's logs go.
Out: `main`'s exit code, run with logging set up and SIGTERM raised as Ctrl-C (either ends
the process with 0, so its children are always stopped); in CPU mode the CPU stand-ins
(pipeline/serve/cpu_mode.py) are started first under a `Supervisor` and `main` gets settings
that point at them; a child that does not start is reported and the exit code is 1; the
children are stopped when `main` returns or raises.
"""

import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from pipeline.agent.pipecat_log import protect_logs
from pipeline.settings import Settings

log = logging.getLogger(__name__)


def run_agent_process(
    command: str,
    settings: Settings,
    main: Callable[[Settings], int],
    cpu_log_dir: Path | None = None,
) -> int:
    """Run `main` as described in the module docstring; CPU mode when `cpu_log_dir` is set."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    protect_logs(settings.agent.redaction)  # before Pipecat logs anything
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    supervisor = None
    try:
        if cpu_log_dir is not None:
            from pipeline.serve.cpu_mode import cpu_children
            from pipeline.serve.supervisor import ChildFailed, Supervisor

            children, settings = cpu_children(settings, cpu_log_dir)
            log.info("CPU mode: children's logs in %s", cpu_log_dir)
            supervisor = Supervisor(children)
            try:
                supervisor.start(settings.agent.start_timeout_s)
            except ChildFailed as exc:
                print(f"switchboard {command}: {exc}", file=sys.stderr)
                return 1
        return main(settings)
    except KeyboardInterrupt:
        log.info("stopping")
        return 0
    finally:
        if supervisor is not None:
            supervisor.stop()
