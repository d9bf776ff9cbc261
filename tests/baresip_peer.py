"""baresip as a real caller: dials a SIP URI, plays a WAV file as the caller's voice, records
what it hears, and hangs up when the file ends.

In: the SIP URI to call, the caller's audio (int16 8 kHz), a work folder. Out: the audio
baresip received (int16 8 kHz, from its sndfile module's dump), and its output for errors.
"""

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

MODULES = ("g711", "aufile", "aubridge", "sndfile")


@dataclass
class BaresipCall:
    heard: np.ndarray  # int16 8 kHz
    output: str


def baresip_call(
    uri: str, voice: np.ndarray, folder: Path, rtp_ports: tuple[int, int]
) -> BaresipCall:
    """Call `uri` from 127.0.0.1 and play `voice` (baresip hangs up at its end)."""
    folder.mkdir(parents=True, exist_ok=True)
    wav, recordings = folder / "caller.wav", folder / "recordings"
    recordings.mkdir(exist_ok=True)
    soundfile.write(wav, voice, 8000, subtype="PCM_16")
    (folder / "config").write_text(
        "\n".join(
            [
                "poll_method epoll",
                "sip_listen 127.0.0.1:0",
                f"audio_source aufile,{wav}",
                "audio_player aubridge,nil",  # no sound card: the sndfile dump is the record
                "audio_alert aubridge,nil",
                "module_path /usr/lib/baresip/modules",
                *(f"module {name}.so" for name in MODULES),
                "module_app account.so",
                "module_app menu.so",
                f"snd_path {recordings}",
                f"rtp_ports {rtp_ports[0]}-{rtp_ports[1]}",
                "",
            ]
        )
    )
    (folder / "accounts").write_text("<sip:caller@127.0.0.1>;regint=0;audio_codecs=PCMU\n")
    seconds = int(len(voice) / 8000) + 5  # baresip quits then; the file ends the call first
    # -n 127.0.0.1: offer the loopback address in SDP, the one it sends RTP from.
    command = ["baresip", "-f", str(folder), "-n", "127.0.0.1", "-e", f"/dial {uri}"]
    result = subprocess.run(
        [*command, "-t", str(seconds)],
        capture_output=True, text=True, errors="replace", timeout=seconds + 30,
    )  # fmt: skip
    output = "\n".join(line for line in result.stdout.splitlines() if "audio=" not in line)
    dumps = sorted(recordings.glob("*-dec.wav"))
    if not dumps:
        return BaresipCall(np.zeros(0, np.int16), output + result.stderr)
    heard, rate = soundfile.read(dumps[-1], dtype="int16")
    assert rate == 8000, rate
    return BaresipCall(heard, output + result.stderr)
