"""Pipecat's log level during a benchmark.

In: nothing. Out: loguru (Pipecat's logger) writing WARNING and above to stderr only.
"""

import sys


def quiet_pipecat_logs() -> None:
    """Stock analyzers log a DEBUG line each as they load: keep the benchmark's table readable."""
    from loguru import logger

    logger.remove()
    logger.add(sys.stderr, level="WARNING")
