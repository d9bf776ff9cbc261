"""`switchboard speech-server`: the Riva-compatible CPU speech server.

    switchboard speech-server --host 127.0.0.1 --port 50051

Point Pipecat's NvidiaSTTService / NvidiaTTSService (server="HOST:PORT", use_ssl=False) or
NVIDIA's riva.client at it. Flags override settings.speech_server
(env SWITCHBOARD_SPEECH_SERVER__*).
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
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    import logging

    from pipeline.speech.server import serve

    overrides = {
        key: value
        for key, value in (
            ("host", args.host),
            ("port", args.port),
            ("max_streams", args.max_streams),
            ("max_tts_streams", args.max_tts_streams),
        )
        if value is not None
    }
    try:
        server_settings = SpeechServerSettings.model_validate(
            settings.speech_server.model_dump() | overrides
        )
    except ValidationError as exc:
        print(f"switchboard speech-server: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        return serve(server_settings)
    except OSError as exc:
        print(f"switchboard speech-server: {exc}", file=sys.stderr)
        return 1
