"""Where a live agent's time goes, by stage of a call, from a py-spy profile.

In: py-spy's raw (collapsed) output of the agent process (`py-spy record -f raw`: one stack
a line, outermost frame first, then its sample count). Out: the share of the samples per
stage, as a table: `python -m pipeline.bench.calls.profile_stages PROFILE.txt`.

A sample belongs to the first stage in STAGES that a frame of its stack names, so the
specific stages win over the generic ones at the end: numpy under the line upsampler is
resampling, a thread-pool submit under the VAD is VAD, and only what names no stage is
pipeline hops or the event loop. A sample whose innermost frame is a thread waiting (the
event loop in its selector, a thread pool's worker for work, gRPC's channel spin, any
thread on a condition: py-spy counts them, although they use no CPU) is `waiting`, apart
from the rest. Recorded with `py-spy record --gil`, only the thread holding the GIL is
sampled: in the agent that is nearly always the event loop, where most of its CPU goes.
"""

import sys
from collections import Counter
from pathlib import Path

WAITING = "waiting (idle loop, thread pool, gRPC spin)"
IDLE_LEAVES = (
    "select (selectors.py",
    "wait (threading.py",
    "_worker (concurrent/futures/thread.py",
    "channel_spin (grpc/",
)
# (stage, substrings of a frame "function (file:line)"), in order of precedence
STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("resampling", ("line_upsampler.py", "soxr", "resampl")),
    ("VAD", ("/vad/", "silero", "vad_analyzer", "analyze_audio", "onnxruntime")),
    ("egress encode and pacing", ("ulaw_encode", "pacer.py", "paced_leg.py", "sendto (")),
    (
        "ingress decode",
        ("ulaw_decode", "rtp_packet.py", "jitter_buffer.py", "telephony/rtp.py", "media_transport"),
    ),
    ("socket reads", ("_read_ready (", "recvfrom", "datagram_received")),
    ("ASR stream", ("services/nvidia/stt.py", "riva/client/asr")),
    ("TTS stream", ("services/nvidia/tts.py", "riva/client/tts")),
    ("gRPC threads", ("grpc/",)),
    ("LLM stream", ("services/openai", "openai/", "httpx/", "httpcore/")),
    (
        "thread-pool hand-offs",  # a worker thread's result back to the event loop
        ("call_soon_threadsafe", "_write_to_self", "_read_from_self", "_set_concurrent_future"),
    ),
    ("pipeline hops", ("pipecat/processors/", "pipecat/pipeline/", "asyncio/queues.py")),
    ("event loop", ("asyncio/",)),
)
OTHER = "other"


def stage_of(frames: list[str]) -> str:
    """The stage of one stack (outermost frame first)."""
    if frames and any(leaf in frames[-1] for leaf in IDLE_LEAVES):
        return WAITING
    for stage, marks in STAGES:
        if any(mark in frame for frame in frames for mark in marks):
            return stage
    return OTHER


def stage_shares(lines: list[str]) -> dict[str, float]:
    """Per stage, its percentage of the samples that were not waiting, largest first; the
    waiting threads' share of all samples under WAITING."""
    counts: Counter[str] = Counter()
    for line in lines:
        stack, _, count = line.rstrip().rpartition(" ")
        if stack and count.isdigit():
            counts[stage_of(stack.split(";"))] += int(count)
    waiting = counts.pop(WAITING, 0)
    working = sum(counts.values())
    shares = {stage: 100 * n / working for stage, n in counts.most_common()} if working else {}
    total = working + waiting
    return shares | {WAITING: 100 * waiting / total if total else 0.0}


def main(argv: list[str] | None = None) -> int:
    from pipeline.bench.report import print_table

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m pipeline.bench.calls.profile_stages PROFILE.txt", file=sys.stderr)
        return 2
    shares = stage_shares(Path(args[0]).read_text().splitlines())
    rows = [[stage, f"{share:.1f}"] for stage, share in shares.items()]
    print_table("agent time by stage (% of working samples)", ["stage", "%"], rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
