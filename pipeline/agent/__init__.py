"""The agent: one Pipecat voice pipeline per call, built from settings.

`stt` (the ASR model-name fix), `services` (STT, LLM and TTS from settings), `tools` (the
call-center persona and its functions), `endpoints` (fail-fast reachability checks) and
`pipeline` (assembling one call's pipeline around any transport).
"""
