"""What did the agent say? Its line audio, transcribed by the speech server's offline ASR.

In: int16 8 kHz audio and the speech server's address. Out: the transcript ("" for none).
The same Riva Recognize call works against a Riva/NIM ASR endpoint.
"""

import numpy as np
import riva.client
import soxr

from pipeline.callers.line import LINE_RATE, PIPELINE_RATE


def transcribe(pcm8k: np.ndarray, server: str, model: str = "", language: str = "en-US") -> str:
    if len(pcm8k) == 0:
        return ""
    audio = soxr.resample(pcm8k.astype(np.float32), LINE_RATE, PIPELINE_RATE, quality="HQ")
    audio = np.clip(audio, -32768, 32767).astype(np.int16)
    asr = riva.client.ASRService(riva.client.Auth(None, False, server))
    config = riva.client.RecognitionConfig(
        encoding=riva.client.AudioEncoding.LINEAR_PCM,
        sample_rate_hertz=PIPELINE_RATE,
        language_code=language,
        model=model,
        max_alternatives=1,
        enable_automatic_punctuation=True,
        audio_channel_count=1,
    )
    response = asr.offline_recognize(audio.tobytes(), config)
    texts = [r.alternatives[0].transcript for r in response.results if r.alternatives]
    return " ".join(t.strip() for t in texts).strip()
