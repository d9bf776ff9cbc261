"""Prometheus metrics of the turn engine and analyzer (scraped from the agent's metrics port)."""

from prometheus_client import Counter, Gauge, Histogram

TURN_REQUESTS = Counter(
    "switchboard_turn_requests_total",
    "Turn requests by outcome: scored, overloaded (queue full), expired (past deadline), error",
    ["engine", "outcome"],
)
TURN_FALLBACKS = Counter(
    "switchboard_turn_fallbacks_total",
    "Turns decided without the model (silence timeout or assumed complete), by reason",
    ["reason"],
)
TURN_BATCH_SIZE = Histogram(
    "switchboard_turn_batch_size",
    "Clips per model call",
    ["engine"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
)
TURN_LATENCY = Histogram(
    "switchboard_turn_latency_seconds",
    "From submit to probability, queueing included",
    ["engine"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
TURN_QUEUE_DEPTH = Gauge("switchboard_turn_queue_depth", "Requests waiting", ["engine"])
TRITON_FAILOVERS = Counter(
    "switchboard_turn_triton_failovers_total",
    "Turns not decided by Triton, by reason: unreachable, timeout, error, circuit_open",
    ["reason"],
)
TRITON_CIRCUIT_OPEN = Gauge(
    "switchboard_turn_triton_circuit_open",
    "1 while turns bypass Triton (it failed; until it is ready and answers a trial request)",
)
TURN_PROBABILITY = Histogram(
    "switchboard_turn_probability",
    "Smart Turn's probability at each ask the analyzer answered (fallbacks have none)",
    buckets=(0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0),
)
TURN_DECISION = Histogram(
    "switchboard_turn_decision_seconds",
    "From a call's ask at the VAD stop to the analyzer's answer or fallback",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
