"""What a benchmark reads from the agent it loads: frame lag from /metrics, and memory.

In: the agent's Prometheus /metrics URL, or its process id. Out: the cumulative buckets of
switchboard_agent_frame_lag_seconds (read before and after a run; `quantile_ms` turns their
difference into a percentile, as Prometheus's histogram_quantile does), and the resident
memory of the agent's whole process tree (speech and LLM servers included in CPU mode).
"""

import contextlib
import math
import urllib.request

import psutil
from prometheus_client.parser import text_string_to_metric_families

FRAME_LAG = "switchboard_agent_frame_lag_seconds"

Buckets = dict[float, float]  # upper bound (s) -> cumulative count


def histogram_buckets(metrics_text: str, name: str = FRAME_LAG) -> Buckets:
    """Cumulative bucket counts of histogram `name`, summed over its label sets."""
    buckets: Buckets = {}
    for family in text_string_to_metric_families(metrics_text):
        if family.name != name:
            continue
        for sample in family.samples:
            if sample.name == f"{name}_bucket":
                bound = float(sample.labels["le"])
                buckets[bound] = buckets.get(bound, 0.0) + sample.value
    return buckets


def read_buckets(metrics_url: str, name: str = FRAME_LAG, timeout_s: float = 5.0) -> Buckets:
    with urllib.request.urlopen(metrics_url, timeout=timeout_s) as response:
        return histogram_buckets(response.read().decode(), name)


def quantile_ms(before: Buckets, after: Buckets, q: float) -> float | None:
    """The q-quantile (0..1) in ms of what was observed between two readings; linear inside
    a bucket, the largest finite bound when it falls in +Inf; None when nothing was observed."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    if not counts or counts[-1] <= 0:
        return None
    rank = q * counts[-1]
    lower, below = 0.0, 0.0
    for bound, cumulative in zip(bounds, counts, strict=True):
        if cumulative >= rank:
            if math.isinf(bound):
                return lower * 1000
            share = (rank - below) / (cumulative - below) if cumulative > below else 1.0
            return (lower + (bound - lower) * share) * 1000
        lower, below = bound, cumulative
    return lower * 1000


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MB."""
    root = psutil.Process(pid)
    total = 0
    for process in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += process.memory_info().rss
    return total / 2**20


def listening_pid(port: int) -> int | None:
    """The local process listening on TCP `port` (to measure an agent given by --url)."""
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
            return conn.pid
    return None
