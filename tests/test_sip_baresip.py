"""baresip, a real SIP phone, calls the SIP server with the echo handler: the call is set up
from baresip's own SDP, its voice arrives over RTP, and the echo it records is that voice."""

import numpy as np
import pytest
from baresip_peer import baresip_call
from sip_peers import start_sip

from pipeline.callers.voice import synthesize
from pipeline.telephony.sip.handler import EchoHandler

pytestmark = pytest.mark.timeout(120)


def envelope(pcm: np.ndarray) -> np.ndarray:
    """RMS of each 20 ms frame."""
    frames = pcm[: len(pcm) // 160 * 160].astype(np.float64).reshape(-1, 160)
    return np.sqrt((frames**2).mean(axis=1))


def test_baresip_hears_its_own_voice_echoed(tmp_path):
    echo = EchoHandler()
    sip = start_sip(echo, rtp_base=28000)
    try:
        voice = synthesize("Hello, I would like to know where my order is.", 8000)
        line = np.concatenate([voice, np.zeros(8000, np.int16)])  # a second to hear the end
        call = baresip_call(f"sip:agent@127.0.0.1:{sip.port}", line, tmp_path, (28500, 28599))
    finally:
        sip.stop()
    (record,) = echo.calls.values()
    assert record.ended_by == "caller", call.output[-3000:]
    assert record.audio_bytes >= 0.9 * len(voice) * 2, (record, call.output[-3000:])
    sent, heard = envelope(voice), envelope(call.heard)
    assert len(heard) > len(sent), call.output[-3000:]
    # The echo is the voice, some packets late: best normalized correlation over the lags.
    best = max(
        np.corrcoef(sent, heard[lag : lag + len(sent)])[0, 1]
        for lag in range(0, min(50, len(heard) - len(sent)))
    )
    assert best > 0.9, best
