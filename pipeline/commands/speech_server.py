"""`switchboard speech-server`: the Riva-compatible CPU speech server.

    switchboard speech-server --host 127.0.0.1 --port 50051
    switchboard speech-server --scripted lines.txt      # a stand-in that costs next to nothing

Point Pipecat's NvidiaSTTService / NvidiaTTSService (server="HOST:PORT", use_ssl=False) or
NVIDIA's riva.client at it. With --scripted FILE it is a stand-in for load tests of the
agent, not a recognizer: no Whisper; each utterance that endpointing (on an energy gate)
finds is answered with FILE's next line (one transcript a line) after --scripted-delay-ms,
and piper speaks each distinct text once, replayed after that (pipeline/speech/scripted.py).
Flags override settings.speech_server (env SWITCHBOARD_SPEECH_SERVER__*).
"""

import argparse
import sys

from pydantic import ValidationError

from pipeline.settings import Settings, SpeechServerSettings


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "speech-server",
        help="Riva-compatible gRPC ASR+TTS server on CPU (faster-whisper, piper)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", help="address to listen on (settings.speech_server.host)")
    parser.add_argument("--port", type=int, help="port (settings.speech_server.port)")
    parser.add_argument(
        "--max-streams", type=int, help="ASR streams at once (settings.speech_server.max_streams)"
    )
    parser.add_argument(
        "--max-tts-streams",
        type=int,
        help="TTS syntheses at once, apart from ASR (settings.speech_server.max_tts_streams)",
    )
    parser.add_argument(
        "--scripted",
        metavar="FILE",
        help="answer with FILE's lines instead of recognizing speech (settings.speech_server"
        ".scripted)",
    )
    parser.add_argument(
        "--scripted-delay-ms",
        type=int,
        help="with --scripted: how long each answer takes (settings.speech_server"
        ".scripted_delay_ms)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    import logging

    from pipeline.speech.scripted import ScriptedEngines, ScriptError
    from pipeline.speech.server import serve

    overrides = {
        key: value
        for key, value in (
            ("host", args.host),
            ("port", args.port),
            ("max_streams", args.max_streams),
            ("max_tts_streams", args.max_tts_streams),
            ("scripted", args.scripted),
            ("scripted_delay_ms", args.scripted_delay_ms),
        )
        if value is not None
    }
    try:
        server_settings = SpeechServerSettings.model_validate(
            settings.speech_server.model_dump() | overrides
        )
        engines = None if server_settings.scripted is None else ScriptedEngines(server_settings)
    except (ValidationError, ScriptError) as exc:
        print(f"switchboard speech-server: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        return serve(server_settings, engines)
    except OSError as exc:
        print(f"switchboard speech-server: {exc}", file=sys.stderr)
        return 1
