"""What a benchmark reads from the agent it loads: frame lag from /metrics, and memory.

In: the agent's Prometheus /metrics URL, or its process id. Out: the cumulative buckets of
switchboard_agent_frame_lag_seconds (read before and after a run; `quantile_ms` turns their
difference into a percentile, as Prometheus's histogram_quantile does), and the resident
memory of each process in the agent's tree by role (agent, speech-server, llm-server,
turn-server, tritonserver; named from the command line), whose sum is the tree's.
"""

import contextlib
import math
import urllib.request
from pathlib import Path

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


ROLES = ("speech-server", "llm-server", "turn-server", "tritonserver")


def process_role(cmdline: list[str], root: bool = False) -> str:
    """What a process in the agent's tree is, from its command line: the tree's root is the
    agent; a child is the first known role named in its arguments, else its program name."""
    if root:
        return "agent"
    for arg in cmdline:
        for role in ROLES:
            if arg == role or arg.endswith(f"/{role}"):
                return role
    return Path(cmdline[0]).name if cmdline else "other"


HEAP = " heap"  # suffix of a role's heap entry in tree_rss_by_role


def tree_rss_by_role(pid: int) -> dict[str, float]:
    """Resident memory (MB) of a process and all its descendants, summed per role, and each
    role's heap as "<role> heap": its anonymous memory (RSS less file-backed and shared
    pages), which is where a leak shows; library pages paged in on first use are not."""
    root = psutil.Process(pid)
    by_role: dict[str, float] = {}
    for process in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            role = process_role(process.cmdline(), root=process.pid == pid)
            info = process.memory_info()
            for key, size in ((role, info.rss), (role + HEAP, info.rss - info.shared)):
                by_role[key] = by_role.get(key, 0.0) + size / 2**20
    return by_role


def tree_rss(by_role: dict[str, float]) -> float:
    """The whole tree's resident memory (MB) from a tree_rss_by_role sample."""
    return sum(mb for role, mb in by_role.items() if not role.endswith(HEAP))


def listening_pid(port: int) -> int | None:
    """The local process listening on TCP `port` (to measure an agent given by --url)."""
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
            return conn.pid
    return None
