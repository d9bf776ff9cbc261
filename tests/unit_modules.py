"""The test modules `make check` runs: unit tests that start no server, peer or browser.

A module belongs here when none of its tests starts a process that listens (speech-server,
llm-server, the agent, Triton, sipp, baresip, Chromium) and its tests that are not marked
`slow` finish within a few seconds each. conftest.py marks every test of these modules
`unit`; `make check` runs `pytest -m "unit and not slow"` (under 2 minutes on 2 cores).
The model and kernel parity tests (test_torch_*.py, test_smart_turn_torch.py,
test_log_mel.py: torch, the numba CUDA simulator) start no server but take about 40 s
together; they run in `make test`, or by name after a change to models/ or kernels/.
"""

UNIT_MODULES = frozenset(
    {
        "test_agent_audio_end",
        "test_agent_call_end_units",
        "test_agent_call_observers",
        "test_agent_first_clause",
        "test_agent_metrics",
        "test_agent_turn_mode",
        "test_agent_units",
        "test_agent_vad",
        "test_agent_worker_observer",
        "test_bench_calls_units",
        "test_bench_scenario",
        "test_bench_turn_failures",
        "test_bench_turn_tradeoff",
        "test_dockerfile",
        "test_helm_render",
        "test_helm_security",
        "test_line_upsampler",
        "test_llm_server_prefix",
        "test_phone_line_hangup",
        "test_process_memory",
        "test_rtp_stream_changes",
        "test_settings",
        "test_sip_adversarial",
        "test_sip_line",
        "test_sip_messages",
        "test_speech_units",
        "test_supervisor",
        "test_telephony_media_transport",
        "test_telephony_pacer",
        "test_telephony_rtp",
        "test_telephony_rtp_timeout",
        "test_triton_command",
        "test_triton_failover",
        "test_turn_analyzer",
        "test_turn_engine",
        "test_turn_events",
        "test_turn_hold_strategy",
        "test_websocket_path",
    }
)
