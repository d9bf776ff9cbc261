"""`switchboard bench turn-quality`: the agent's turn policy, stock Smart Turn and VAD-only turn
ending, on the same audio.

`cli` is the command and `tables` its tables; `run` renders (or, from `recordings`, cuts) and
replays the utterances; `tradeoff` names the policies and the knob each is swept over;
`replay` drives Pipecat's own end-of-turn parts in audio time, `replay_holding` the agent's
own stop strategy, `memo_engine` asks the model once per distinct clip; `transcript_wait`
delivers the transcript and puts the wait for it on a replay; `score` scores the decisions
against the caller's words. `vad_check` (`--vad-check`) counts which generated sounds
(`line_sounds`) start a turn.
"""
