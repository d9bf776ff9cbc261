"""`switchboard bench turn-quality`: Smart Turn against VAD-only turn ending, on the same audio.

`cli` is the command; `run` renders and replays the utterances, `replay` drives Pipecat's own
end-of-turn parts in audio time, `transcript_wait` puts the transcript wait on a replay,
`score` scores the decisions against the caller's words.
"""
