"""The agent: one Pipecat voice pipeline per call, built from settings, on any transport.

`call` (assembling and running one call's pipeline), `services` and `stt` (STT, LLM and TTS
from settings; the ASR model-name fix), `tools` and `tool_hints` (the call-center persona,
its functions, and hints for small LLMs), `vad` (the shared Silero session), `frame_lag`,
`call_metrics` and `metrics` (Prometheus), `service_failure` (apologize and hang up when a
service fails), `transcripts` (per-call JSON lines) and `endpoints` (fail-fast reachability
checks). Calls reach it through pipeline/intake/.
"""
