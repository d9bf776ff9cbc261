"""The one definition of where an agent turn's latency goes, from the caller's last word to the
agent's first audio.

In: Pipecat's own LatencyBreakdown of a user-to-bot cycle (UserBotLatencyObserver's
on_latency_breakdown, with enable_metrics=True): its contributions, which sum to the measured
interval and say who spent each part. Out: `stages_ms`, milliseconds per stage, with these
names everywhere (the transcripts file's turn_latency events, `switchboard demo` and its
`--json` turns[].stages_ms, the timeline picture, the browser console):

    vad_stop          the silence Silero VAD waits out before it calls the speech over
    final_transcript  from the VAD stop to the final transcript (the ASR)
    turn_decision     from the transcript until the turn is released (the turn policy's hold)
    llm_first_token   from the LLM request to its first token (tool calls included)
    tools             the agent's tool handlers (an order lookup)
    first_sentence    from the first token to the first text TTS can speak (the answer's
                      first clause, pipeline/agent/first_clause.py)
    tts_first_audio   from that text to the first synthesized audio
    transport         from the first audio to the caller's line
    pipeline          frame hops between them
    total             all of the above: the caller's last word to the agent's first audio
    agent_share       total less the time the services (ASR, LLM, TTS) spent: what carries
                      over to NIMs
"""

from pipecat.observers.user_bot_latency_observer import LatencyBreakdown, LatencyOwnerKind

STAGES = (
    "vad_stop",
    "final_transcript",
    "turn_decision",
    "llm_first_token",
    "tools",
    "first_sentence",
    "tts_first_audio",
    "transport",
    "pipeline",
)
TOTALS = ("total", "agent_share")

# Pipecat's contribution keys (user_bot_latency_observer._SPANS) -> our stage.
_STAGE_OF = {
    "endpointing_wait": "vad_stop",
    "transcription": "final_transcript",
    "turn_detection": "turn_decision",
    "turn_completion": "turn_decision",
    "waiting_for_user": "turn_decision",
    "llm_inference": "llm_first_token",
    "llm_tool_call": "llm_first_token",
    "awaiting_speakable_text": "llm_first_token",
    "function_handler": "tools",
    "sentence_aggregation": "first_sentence",
    "speech_synthesis": "tts_first_audio",
    "output_transport": "transport",
}


def stages_ms(breakdown: LatencyBreakdown) -> dict[str, float]:
    """Milliseconds per stage (every name in STAGES and TOTALS, 0 where nothing was spent)."""
    stages = dict.fromkeys(STAGES, 0.0)
    services = 0.0
    for part in breakdown.contributions:
        stage = _STAGE_OF.get(part.key, "pipeline")
        stages[stage] += part.duration_secs * 1000
        if part.owner_kind == LatencyOwnerKind.SERVICE:
            services += part.duration_secs
    stages["total"] = breakdown.total_secs * 1000
    stages["agent_share"] = (breakdown.total_secs - services) * 1000
    return {name: round(ms, 1) for name, ms in stages.items()}


def describe(stages: dict[str, float]) -> str:
    """One line for people: the total, then each stage that took time ("1180 ms: ...")."""
    parts = [f"{name} {stages[name]:.0f}" for name in STAGES if stages.get(name, 0) >= 1]
    share = f"; agent share {stages['agent_share']:.0f}" if "agent_share" in stages else ""
    return f"{stages.get('total', 0):.0f} ms: " + ", ".join(parts) + share
