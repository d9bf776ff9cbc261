"""Prometheus metrics of the agent process (scraped from agent.metrics_port).

In: observations from the call pipelines (pipeline/agent/frame_lag.py,
pipeline/agent/call_metrics.py, pipeline/agent/call.py) and the call intake
(pipeline/intake/calls.py: calls in progress, refusals). Out: these metric objects in
prometheus_client's default registry, which `serve` exposes. The turn engine's own metrics
live in pipeline/turn/metrics.py; docs/metrics.md lists them all.
"""

from prometheus_client import Counter, Gauge, Histogram

# 1 ms .. 1 s, finer where a healthy agent sits (a 20 ms frame should be seen within one frame).
_LAG_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.2, 0.35, 0.5, 1.0)
_SERVICE_BUCKETS = (0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 10.0, 20.0)

FRAME_LAG = Histogram(
    "switchboard_agent_frame_lag_seconds",
    "How late each caller audio frame leaves the user aggregator (VAD and turn analysis), "
    "against the call's audio clock",
    buckets=_LAG_BUCKETS,
)
ACTIVE_CALLS = Gauge("switchboard_agent_active_calls", "Calls in progress")  # the intake's count
SIP_DROPPED = Gauge(
    "switchboard_sip_dropped",
    "SIP datagrams and TCP connections the agent did not read since it started, by reason: "
    "peer (outside agent.allowed_peers), tcp full (agent.sip_tcp_max_connections open), "
    "tcp unread (a peer that does not read what we send)",
    ["reason"],
)  # read from the SIP listener's counts (pipeline/intake/sip.py)

CALLS = Counter(
    "switchboard_agent_calls_total",
    "Calls ended, by outcome: completed (the caller hung up or the agent ended it), "
    "apologized (a service failed; the agent apologized and ended it), transferred (a service "
    "failed on a SIP call with agent.sip_transfer_target: handed to a person), failed (ended by an "
    "error with no apology), refused (a peer outside agent.allowed_peers, agent.max_calls "
    "reached, draining, no valid WebSocket token, or not a media stream)",
    ["outcome"],
)
SERVICE_TTFB = Histogram(
    "switchboard_agent_service_ttfb_seconds",
    "Time to first byte of the STT, LLM and TTS services, as Pipecat measures it",
    ["service"],
    buckets=_SERVICE_BUCKETS,
)
RESPONSE_LATENCY = Histogram(
    "switchboard_agent_response_latency_seconds",
    "From the caller's end of speech (VAD stop) to the agent's first audio",
    buckets=_SERVICE_BUCKETS,
)
TURN_STAGES = Histogram(
    "switchboard_agent_turn_stage_seconds",
    "Each answer's latency from the caller's last word, per stage (pipeline/agent/turn_stages.py: "
    "vad_stop, final_transcript, turn_decision, llm_first_token, ..., total, agent_share)",
    ["stage"],
    buckets=_SERVICE_BUCKETS,
)
COLLECT_PAUSE = Histogram(
    "switchboard_agent_collect_seconds",
    "Full garbage collections run after each call ends, which free finished calls (the "
    "event loop, and every call in this process, waits while one runs)",
    buckets=_LAG_BUCKETS,
)
ERRORS = Counter(
    "switchboard_agent_errors_total",
    "Errors in call pipelines, by the service that raised them (stt, llm, tts, other) and "
    "Pipecat's error category (connectivity, server, ...)",
    ["service", "category"],
)
