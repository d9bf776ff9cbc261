"""The pure measurement logic of `bench calls`: agent talk bursts, false interruptions, missed
turns and latency from timelines; frame-lag percentiles from Prometheus buckets; the agent's
CPU per call over the steady window of a timeline; a py-spy profile by stage; the summary."""

import json
import math
import os
import time
from datetime import UTC, datetime

import pytest

from pipeline.bench.calls.agent_cpu import agent_cpu, call_spans, process_cpu_s
from pipeline.bench.calls.agent_probe import (
    histogram_buckets,
    process_role,
    quantile_ms,
    tree_rss,
    tree_rss_by_role,
)
from pipeline.bench.calls.agent_stages import stage_medians
from pipeline.bench.calls.agent_transcripts import (
    caller_turn_ends,
    lost_transcripts,
    premature_turn_ends,
)
from pipeline.bench.calls.call_timeline import CallerTurn, agent_bursts, judge_turn
from pipeline.bench.calls.profile_stages import WAITING, stage_shares
from pipeline.bench.calls.scenario import scenario_path
from pipeline.bench.calls.scripted_call import CallRecord
from pipeline.bench.calls.summary import summarize


def packets(start: float, end: float, every: float = 0.02) -> list[float]:
    """Arrival times of agent speech packets from `start` to `end`."""
    return [start + i * every for i in range(int(round((end - start) / every)) + 1)]


def test_bursts_split_on_quiet_and_merge_small_gaps() -> None:
    times = packets(1.0, 2.0) + packets(2.3, 3.0) + packets(5.0, 5.5)
    bursts = agent_bursts(times, gap_s=0.6)
    assert [(round(a, 2), round(b, 2)) for a, b in bursts] == [(1.0, 3.0), (5.0, 5.5)]
    assert agent_bursts([]) == []


# A hesitant caller: "I need to cancel my order" (10.0-11.5), 1.5 s pause, "actually..." (13-15).
HESITANT = CallerTurn(spans=((10.0, 11.5), (13.0, 15.0)), answer_within_s=20)


def test_agent_answering_after_the_last_word_is_a_clean_turn() -> None:
    outcome = judge_turn(HESITANT, agent_bursts(packets(16.2, 18.0)))
    assert not outcome.false_interruption and not outcome.missed
    assert outcome.latency_s == pytest.approx(1.2)


def test_agent_starting_in_the_pause_is_a_false_interruption() -> None:
    # It starts at 12.1 inside the pause, is cut off by the caller, then answers at 15.9.
    bursts = agent_bursts(packets(12.1, 13.3) + packets(15.9, 17.0))
    outcome = judge_turn(HESITANT, bursts)
    assert outcome.false_interruption and not outcome.missed
    assert outcome.latency_s == pytest.approx(0.9)


def test_agent_talking_over_the_end_answers_with_zero_latency_but_still_cut_in() -> None:
    outcome = judge_turn(HESITANT, agent_bursts(packets(14.0, 17.0)))
    assert outcome.false_interruption and outcome.latency_s == 0.0


def test_talk_that_began_before_the_caller_is_not_a_false_interruption() -> None:
    # A barge-in: the agent was mid-answer (8.0-10.4) when the caller cut in at 10.0.
    barge = CallerTurn(spans=((10.0, 11.0),), answer_within_s=20, barge_in=True)
    outcome = judge_turn(barge, agent_bursts(packets(8.0, 10.4) + packets(12.0, 13.0)))
    assert not outcome.false_interruption
    assert outcome.latency_s == pytest.approx(1.0)


def test_no_answer_or_a_late_one_is_a_missed_turn() -> None:
    assert judge_turn(HESITANT, []).missed
    late = judge_turn(HESITANT, agent_bursts(packets(36.0, 37.0)))  # 21 s after the last word
    assert late.missed and late.latency_s is None
    # The greeting before the utterance answers nothing.
    assert judge_turn(HESITANT, agent_bursts(packets(1.0, 4.0))).missed


METRICS = """# HELP switchboard_agent_frame_lag_seconds lag
# TYPE switchboard_agent_frame_lag_seconds histogram
switchboard_agent_frame_lag_seconds_bucket{le="0.01"} %d
switchboard_agent_frame_lag_seconds_bucket{le="0.02"} %d
switchboard_agent_frame_lag_seconds_bucket{le="0.05"} %d
switchboard_agent_frame_lag_seconds_bucket{le="+Inf"} %d
switchboard_agent_frame_lag_seconds_count %d
switchboard_agent_frame_lag_seconds_sum 1.0
# HELP other_seconds another histogram
# TYPE other_seconds histogram
other_seconds_bucket{le="+Inf"} 7
other_seconds_count 7
other_seconds_sum 1.0
"""


def test_frame_lag_percentiles_come_from_the_bucket_difference() -> None:
    before = histogram_buckets(METRICS % (1000, 1000, 1000, 1000, 1000))
    assert before == {0.01: 1000, 0.02: 1000, 0.05: 1000, math.inf: 1000}
    # Between the readings: 90 frames under 10 ms, 8 in 10-20 ms, 2 in 20-50 ms.
    after = histogram_buckets(METRICS % (1090, 1098, 1100, 1100, 1100))
    assert quantile_ms(before, after, 0.5) == pytest.approx(10 * 50 / 90)
    assert quantile_ms(before, after, 0.99) == pytest.approx(20 + 30 * 0.5)
    assert quantile_ms(before, before, 0.99) is None  # nothing observed
    assert quantile_ms({}, {}, 0.99) is None  # the agent has no such histogram


def test_a_quantile_in_the_overflow_bucket_reads_as_the_largest_bound() -> None:
    after = histogram_buckets(METRICS % (0, 0, 0, 10, 10))
    assert quantile_ms({}, after, 0.99) == pytest.approx(50.0)


def _record(call: int, turns: list[dict], error: str | None = None) -> CallRecord:
    return CallRecord(call, "s", f"MZ{call}", ended_by="caller", error=error, turns=turns)


def _turn(latency_ms: float | None, cut_in: bool = False) -> dict:
    return {"latency_ms": latency_ms, "missed": latency_ms is None, "false_interruption": cut_in}


def test_summary_counts_calls_turns_and_memory_growth() -> None:
    records = [
        _record(0, [_turn(1000.0), _turn(None)]),
        _record(1, [_turn(3000.0, cut_in=True)]),
        _record(2, [], error="ConnectionRefusedError: refused"),
    ]
    records[0].send_lag_s = [0.001] * 99 + [0.5]  # one packet the caller sent 500 ms late
    lag = histogram_buckets(METRICS % (10, 20, 20, 20, 20))
    rss = [{"agent": 300.0, "llm-server": 100.0}, {"agent": 330.0, "llm-server": 120.0}]
    rss.append({"agent": 300.0, "llm-server": 110.0})
    summary = summarize(3, records, {}, lag, rss, 12.34, soak=True)
    assert (summary["calls"], summary["completed"], summary["failed"]) == (3, 2, 1)
    assert (summary["turns"], summary["missed_turns"], summary["false_interruptions"]) == (3, 1, 1)
    assert summary["response_latency_ms"] == {"p50": 2000.0, "p99": 2980.0}
    assert summary["response_latency_uncut_ms"] == {"p50": 1000.0, "p99": 1000.0}
    assert summary["frame_lag_ms"]["p50"] == pytest.approx(10.0)
    assert summary["rss_mb"] == 450.0 and summary["rss_growth_pct"] == 2.5
    assert summary["processes"]["llm-server"]["growth_pct"] == 10.0
    assert summary["caller_send_lag_ms"]["p99"] == pytest.approx(6.0, abs=0.1)
    assert [c["call"] for c in summary["per_call"]] == [0, 1, 2]
    assert "send_lag_s" not in summary["per_call"][0]  # per packet: too much for the JSON


def test_summary_without_metrics_or_answers_says_none() -> None:
    summary = summarize(1, [_record(0, [_turn(None)])], None, None, [], duration_s=1.0)
    assert summary["response_latency_ms"] == {"p50": None, "p99": None}
    assert summary["response_latency_uncut_ms"] == {"p50": None, "p99": None}
    assert summary["frame_lag_ms"] == {"p50": None, "p99": None}
    assert summary["rss_mb"] is None
    not_soak = summarize(1, [], None, None, [{"agent": 400.0}, {"agent": 500.0}], duration_s=1.0)
    assert not_soak["rss_mb"] == 500.0 and not_soak["rss_growth_pct"] is None
    assert not_soak["processes"]["agent"]["growth_pct"] is None


def test_memory_per_process_shows_which_one_grew() -> None:
    # The tree grows 10 %: all of it the llm-server's (+50 %), the agent flat.
    samples = [{"agent": 400.0, "llm-server": 100.0}, {"agent": 420.0, "llm-server": 150.0}]
    samples.append({"agent": 400.0, "llm-server": 150.0, "speech-server": 0.0})
    summary = summarize(1, [], None, None, samples, duration_s=1.0, soak=True)
    assert summary["rss_growth_pct"] == 10.0
    processes = summary["processes"]
    assert processes["agent"] == {
        "peak_mb": 420.0,
        "start_mb": 400.0,
        "end_mb": 400.0,
        "growth_pct": 0.0,
    }
    assert processes["llm-server"]["growth_pct"] == 50.0
    assert processes["speech-server"]["growth_pct"] is None  # 0 MB at the start: no ratio


def test_heap_entries_are_reported_per_process_but_not_added_to_the_tree() -> None:
    samples = [{"agent": 400.0, "agent heap": 250.0}, {"agent": 440.0, "agent heap": 255.0}]
    summary = summarize(1, [], None, None, samples, duration_s=1.0, soak=True)
    assert summary["rss_start_mb"] == 400.0 and summary["rss_growth_pct"] == 10.0
    assert summary["processes"]["agent heap"]["growth_pct"] == 2.0
    live = tree_rss_by_role(os.getpid())  # this test process, as the root of a tree
    assert 0 < live["agent heap"] < live["agent"] <= tree_rss(live)  # pytest may have children


def test_processes_in_the_tree_are_named_by_role_from_their_command_line() -> None:
    python = ["/venv/bin/python", "-m", "pipeline.cli"]
    assert process_role([*python, "serve", "--cpu"], root=True) == "agent"
    assert process_role([*python, "speech-server", "--port", "50051"]) == "speech-server"
    assert process_role([*python, "llm-server", "--host", "0.0.0.0"]) == "llm-server"
    assert process_role(["/opt/tritonserver/bin/tritonserver", "--model-repository=m"]) == (
        "tritonserver"
    )
    assert process_role(["/usr/bin/ffmpeg", "-i", "x"]) == "ffmpeg"
    assert process_role([]) == "other"


def test_scenarios_are_found_by_name_or_file_and_unknown_ones_named(tmp_path) -> None:
    assert scenario_path("hang-up").name == "hang-up.yaml"
    own = tmp_path / "mine.yaml"
    own.write_text("name: mine\n")
    assert scenario_path(str(own)) == own
    with pytest.raises(ValueError, match="no scenario 'nope'.*hesitant-cancel"):
        scenario_path("nope")


DIALLED = 1_800_000_000.0  # epoch seconds a test call was dialled


def _line(call: str, role: str, ended_s: float) -> str:
    """A transcript line the agent wrote `ended_s` after DIALLED."""
    ended = datetime.fromtimestamp(DIALLED + ended_s, UTC).isoformat(timespec="milliseconds")
    return json.dumps({"call_id": call, "role": role, "text": "...", "ended_at": ended}) + "\n"


def _spoken(first: float, last: float, latency_ms: float | None) -> dict:
    return _turn(latency_ms) | {"first_word_s": first, "last_word_s": last}


def test_turn_ends_from_the_transcripts_find_lost_and_premature_ones(tmp_path) -> None:
    transcripts = tmp_path / "transcripts.jsonl"
    transcripts.write_text(
        _line("MZ0", "agent", 3.0)  # the greeting
        + _line("MZ0", "caller", 7.2)  # ended in the 1.5 s pause of "I need to cancel ..."
        + _line("MZ0", "caller", 10.4)  # and again after the last word
        + _line("MZ1", "caller", 6.5)
    )
    ends = caller_turn_ends(transcripts)
    assert {call: [round(t - DIALLED, 3) for t in ts] for call, ts in ends.items()} == {
        "MZ0": [7.2, 10.4],
        "MZ1": [6.5],
    }
    records = [
        _record(0, [_spoken(5.0, 10.0, 900.0)]),  # split by the agent: premature, not lost
        _record(1, [_spoken(4.0, 6.0, 800.0), _spoken(12.0, 13.0, 700.0)]),  # one line short
        _record(2, [_spoken(4.0, 5.0, 600.0)]),  # answered, never transcribed
        _record(3, [_spoken(4.0, 5.0, 500.0)], error="ConnectionResetError"),  # failed
    ]
    for record in records:
        record.dialled_at = DIALLED
    assert lost_transcripts(records, ends) == 2
    assert premature_turn_ends(records, ends) == 1
    assert lost_transcripts(records, None) is None  # an agent whose transcripts are unknown
    assert premature_turn_ends(records, None) is None
    assert caller_turn_ends(tmp_path / "none-yet.jsonl") == {}
    assert caller_turn_ends(None) is None


def _cpu_samples(rates: list[tuple[float, float]], start: float, end: float) -> list:
    """A CPU sample a second from start to end; `rates`: (from time, CPU s per s) in order."""
    samples, used = [], 0.0
    for t in range(int(start), int(end) + 1):
        samples.append((float(t), used))
        used += next(rate for since, rate in reversed(rates) if t >= since)
    return samples


def test_cpu_per_call_counts_only_the_steady_window() -> None:
    # Two callers dial at 100 and 102; warm-up ends at 107, the first call ends at 150. The
    # agent burns 2 CPU s/s while starting the calls, 0.2 in the steady part, 0.05 after.
    spans = [(0, 100.0, 160.0), (1, 102.0, 150.0)]
    samples = _cpu_samples([(0, 2.0), (107, 0.2), (150, 0.05)], 90, 170)
    figures = agent_cpu(samples, spans, warmup_s=5.0)
    # 0.2 CPU s per second over 2 calls in progress: 10 % of a core each.
    assert figures == {
        "agent_cpu_pct_per_call": 10.0,
        "calls_per_core": 10.0,
        "agent_cpu_window_s": 43.0,
    }


def test_cpu_per_call_of_a_soak_leaves_out_the_gaps_between_calls() -> None:
    # Each caller redials a second after hanging up: 2 s in the window with one call only.
    spans = [(0, 100.0, 130.0), (0, 131.0, 170.0), (1, 101.0, 140.0), (1, 141.0, 165.0)]
    samples = _cpu_samples([(0, 0.58)], 100, 170)
    figures = agent_cpu(samples, spans, warmup_s=5.0)
    assert figures["agent_cpu_window_s"] == 59.0  # from 106 to 165: the first caller done
    assert figures["agent_cpu_pct_per_call"] == pytest.approx(100 * 0.58 * 59 / (2 * 59 - 2))


def test_cpu_per_call_is_unknown_without_a_steady_window() -> None:
    unknown = {"agent_cpu_pct_per_call": None, "calls_per_core": None, "agent_cpu_window_s": None}
    short_calls = [(0, 100.0, 106.0)]  # over before the warm-up is
    assert agent_cpu(_cpu_samples([(0, 1.0)], 100, 110), short_calls) == unknown
    assert agent_cpu([], [(0, 100.0, 160.0)]) == unknown  # no pid, no samples
    assert agent_cpu(_cpu_samples([(0, 1.0)], 100, 110), []) == unknown


def test_summary_reports_cpu_per_call_from_the_records() -> None:
    records = [_record(0, []), _record(1, [])]
    for record, dialled in zip(records, (100.0, 101.0), strict=True):
        record.dialled_at, record.duration_s = dialled, 40.0
    assert call_spans(records) == [(0, 100.0, 140.0), (1, 101.0, 141.0)]
    samples = _cpu_samples([(0, 0.3)], 100, 142)
    summary = summarize(2, records, None, None, [], 42.0, cpu_samples=samples)
    assert summary["agent_cpu_pct_per_call"] == 15.0 and summary["calls_per_core"] == 6.7


def test_process_cpu_is_this_process_own_time() -> None:
    before = process_cpu_s(os.getpid())
    deadline = time.process_time() + 0.2
    while time.process_time() < deadline:
        pass
    assert process_cpu_s(os.getpid()) - before == pytest.approx(0.2, abs=0.1)


LOOP = "thread (1);_run_once (asyncio/base_events.py:1922);_run (asyncio/events.py:80)"
PROFILE = f"""{LOOP};process_frame (pipecat/processors/frame_processor.py:900);\
resample (pipeline/telephony/line_upsampler.py:43);convolve (numpy/core/numeric.py:834) 30
{LOOP};_handle_vad (pipecat/audio/vad/vad_analyzer.py:10);\
submit (concurrent/futures/thread.py:175) 20
{LOOP};get (asyncio/queues.py:158) 50
thread (2);_bootstrap (threading.py:1002);_worker (concurrent/futures/thread.py:81) 60
thread (1);_run_once (asyncio/base_events.py:1898);EpollSelector.select (selectors.py:468) 30
thread (3);consume_request_iterator (grpc/_channel.py:1);Condition.wait (threading.py:320) 10
"""


def test_profile_samples_go_to_their_most_specific_stage() -> None:
    shares = stage_shares(PROFILE.splitlines())
    # numpy under the upsampler is resampling, a pool submit under the VAD is VAD, and a
    # queue of the pipeline is a hop; an idle loop, a pool thread waiting for work and a
    # thread waiting on a condition are no work at all.
    assert shares == {"pipeline hops": 50.0, "resampling": 30.0, "VAD": 20.0, WAITING: 50.0}


def test_agent_stage_medians_cover_only_the_levels_calls(tmp_path):
    def latency(call_id: str, total: float, share: float) -> str:
        stages = {"total": total, "agent_share": share, "vad_stop": 200.0}
        return json.dumps({"call_id": call_id, "kind": "turn_latency", "stages_ms": stages})

    events = tmp_path / "transcripts.jsonl"
    events.write_text(
        "\n".join(
            [
                latency("a", 900, 250),
                json.dumps({"call_id": "a", "role": "caller", "text": "yes"}),
                latency("a", 1100, 300),
                latency("b", 1300, 350),
                latency("other", 9000, 9000),  # a call of another level
                "",
            ]
        )
    )
    medians = stage_medians(events, {"a", "b"})
    assert medians["answers"] == 3
    assert medians["p50_ms"]["total"] == 1100 and medians["p50_ms"]["agent_share"] == 300
    assert medians["p50_ms"]["vad_stop"] == 200 and medians["p50_ms"]["tools"] == 0
    assert stage_medians(events, {"nobody"}) == {
        "answers": 0,
        "p50_ms": dict.fromkeys(medians["p50_ms"]),
    }
    assert stage_medians(None, {"a"}) is None
