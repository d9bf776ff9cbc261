"""Pipecat's own log (loguru) without caller data, process-wide.

In: agent.redaction. Out: loguru configured so that, with redaction, every Pipecat message
(TTS text, function call arguments, errors) goes through `redact`
(pipeline/agent/redaction.py), its transcription lines lose their text (a number read with
pauses spreads over several; the agent logs the caller's whole turn, masked) and its
per-turn "Generating LLM response" line leaves out the LLM context (PIPECAT_LOG_LLM_CONTEXT,
unless the operator set it); either way a message is cut past MAX_LOG_CHARS (a peer's
garbage can be quoted whole) and tracebacks print no variable values (they can hold audio,
caller text or credentials).
"""

import os
import sys
from typing import Any

from pipeline.agent.redaction import redact

MAX_LOG_CHARS = 4000
TRANSCRIPTIONS = ("Transcription: [", "Interim Transcription: [")  # Pipecat's STT lines


def _cap_record(record: Any) -> None:
    """Cut a message past MAX_LOG_CHARS."""
    message = record["message"]
    if len(message) > MAX_LOG_CHARS:
        record["message"] = f"{message[:MAX_LOG_CHARS]}... [{len(message)} characters]"


def _redact_record(record: Any) -> None:
    """Cut and mask a message; a transcription line keeps only its length."""
    _cap_record(record)
    message = record["message"]
    if message.startswith(TRANSCRIPTIONS):
        head = message.split("[", 1)[0]
        record["message"] = f"{head}[{len(message) - len(head) - 2} characters]"
    else:
        record["message"] = redact(message)


_sink_replaced = False


def protect_logs(enabled: bool) -> None:
    """Configure Pipecat's log as the module docstring says: loguru's patcher, and its
    default stderr sink replaced once by one with `diagnose=False`. Call it before the first
    call's services are built; calling it again applies `enabled` again."""
    global _sink_replaced
    from loguru import logger

    if enabled:
        os.environ.setdefault("PIPECAT_LOG_LLM_CONTEXT", "off")
    logger.configure(patcher=_redact_record if enabled else _cap_record)
    if _sink_replaced:
        return
    _sink_replaced = True
    try:
        logger.remove(0)  # loguru's default sink; gone if someone configured loguru already
    except ValueError:
        return
    logger.add(sys.stderr, level=os.environ.get("LOGURU_LEVEL", "DEBUG"), diagnose=False)
