"""`switchboard bench turn-accuracy`: Smart Turn int8, fp32 and fp16 judged against labels.

`cli` is the command; `labels` builds the labelled clips (scenario utterance ends and pauses,
piper sentences and beckett.wav prefixes) at both audio rates, `scoring` runs each model over
them in batches, `summary` turns the verdicts into accuracy and error rates.
"""
