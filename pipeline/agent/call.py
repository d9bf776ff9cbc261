"""One call's Pipecat pipeline, around whatever transport carries the call.

In: a Pipecat transport (whatever carries the call: a Twilio media stream, a SIP/RTP or
AudioSocket leg, WebRTC; pipeline/intake/ picks it), the settings, the orders. Out: a
PipelineWorker, plus the call's tools (which record what the LLM called), and `run_call`,
which runs the worker to its end and counts how the call ended. The frames flow:

    transport.input -> STT -> user aggregator -> frame lag (the caller's audio ends here)
        -> person requests -> tool hints -> LLM -> TTS -> transport.output -> assistant
        aggregator (what the agent said goes back into the context)

The user aggregator holds Silero VAD (one session for every call, pipeline/agent/vad.py) and
the turn stop strategy (agent.turn_mode: the shared Smart Turn engine by default): together
they decide when the caller has finished, and caller speech while the agent talks is an
interruption.

Barge-in: when VAD hears the caller while the agent speaks, the user aggregator broadcasts
an interruption; TTS and the output transport drop what they had queued at once.

Ending: the end_call and transfer_to_human tools, a caller asking for a person or pressing 0
(pipeline/agent/handoff.py) and a silent caller (pipeline/agent/idle.py) end the pipeline
after a last line; each carrier then hangs up (or, on SIP, transfers).
"""

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from pipecat.audio.turn.smart_turn.local_smart_turn_v3 import LocalSmartTurnAnalyzerV3
from pipecat.frames.frames import TTSSpeakFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.processors.frame_processor import FrameProcessor
from pipecat.services.openai.llm import OpenAILLMService
from pipecat.transports.base_transport import BaseTransport
from pipecat.turns.user_stop import (
    BaseUserTurnStopStrategy,
    SpeechTimeoutUserTurnStopStrategy,
    TurnAnalyzerUserTurnStopStrategy,
)
from pipecat.turns.user_turn_strategies import UserTurnStrategies
from pipecat.workers.runner import WorkerRunner

from pipeline.agent.audio_end import AgentAudioEnd
from pipeline.agent.call_metrics import measure_call
from pipeline.agent.frame_lag import FrameLagMeter
from pipeline.agent.handoff import PersonRequests, hand_off_when_transferred
from pipeline.agent.idle import CallerIdle
from pipeline.agent.llm_warmup import warm_prefix
from pipeline.agent.metrics import CALLS, COLLECT_PAUSE
from pipeline.agent.pipecat_log import protect_logs
from pipeline.agent.redaction import TurnMask, keep, masker
from pipeline.agent.service_failure import ServiceFailureHandler
from pipeline.agent.services import build_llm, build_stt, build_tts
from pipeline.agent.tool_hints import ToolHints
from pipeline.agent.tools import GREETING, SYSTEM_PROMPT, TOOLS, CallCenterTools
from pipeline.agent.transcripts import TranscriptWriter
from pipeline.agent.turn_events import TurnEvents, file_sink, rtvi_sink, stage_metrics
from pipeline.agent.vad import agent_vad
from pipeline.agent.worker_observer import observe_selectively
from pipeline.process_memory import collect_finished_calls
from pipeline.settings import Settings
from pipeline.turn.analyzer import SharedSmartTurnAnalyzer
from pipeline.turn.stop_strategy import HoldingTurnStopStrategy

log = logging.getLogger(__name__)

IN_RATE = 16000  # what VAD, Smart Turn and the ASR get; transports resample to it
COLLECT_DELAY_S = 1.0  # after a call ends, by when its transport has let go of it


def turn_stop_strategy(settings: Settings) -> BaseUserTurnStopStrategy:
    """What ends the caller's turn (agent.turn_mode): the shared Smart Turn engine with the
    probability-set hold (turn_policy, pipeline/turn/stop_strategy.py), stock Pipecat's
    per-call LocalSmartTurnAnalyzerV3 and policy, or Pipecat's silence timeout alone."""
    mode = settings.agent.turn_mode
    if mode == "vad":
        return SpeechTimeoutUserTurnStopStrategy()
    if mode == "stock":
        return TurnAnalyzerUserTurnStopStrategy(turn_analyzer=LocalSmartTurnAnalyzerV3())
    turn = SharedSmartTurnAnalyzer(settings=settings.turn)
    return HoldingTurnStopStrategy(turn_analyzer=turn, policy=settings.turn_policy)


def user_params(
    settings: Settings, stop: BaseUserTurnStopStrategy | None = None
) -> LLMUserAggregatorParams:
    """Silero VAD (one session shared by every call, with the agent.vad_* settings) plus the
    turn stop strategy `stop` (by default the one agent.turn_mode names)."""
    vad = agent_vad(settings.agent)
    stop = stop or turn_stop_strategy(settings)
    return LLMUserAggregatorParams(
        vad_analyzer=vad, user_turn_strategies=UserTurnStrategies(stop=[stop])
    )


def build_call(
    transport: BaseTransport,
    settings: Settings,
    orders: Mapping[str, Mapping[str, Any]],
    *,
    greet: bool = True,
    call_id: str = "",
    console: bool = False,
) -> tuple[PipelineWorker, CallCenterTools]:
    """The pipeline for one call; when `greet`, the agent speaks first once the call starts;
    a silent caller is prompted, then hung up on (agent.idle_*: pipeline/agent/idle.py).
    `call_id` names the call in the log and in transcripts (agent.transcripts_file). With
    agent.redaction, digit runs are masked in the log (Pipecat's too: pipecat_log.py) and in
    transcripts (unless agent.transcripts_raw): pipeline/agent/redaction.py. The call's turn
    events go to the transcripts file, the metrics and, with `console` (a browser call), to
    the page as RTVI server messages (pipeline/agent/turn_events.py)."""
    agent = settings.agent
    protect_logs(agent.redaction)
    mask = masker(agent.redaction)
    stt = build_stt(settings.asr, IN_RATE, agent.retry_backoff_s, agent.retry_window_s)
    llm = build_llm(settings.llm, SYSTEM_PROMPT, agent.retry_backoff_s)
    tts = build_tts(settings.tts)
    tools = CallCenterTools(orders, mask)
    tools.register(llm)

    context = LLMContext(tools=TOOLS)
    stop = turn_stop_strategy(settings)
    aggregators = LLMContextAggregatorPair(context, user_params=user_params(settings, stop))
    user, assistant = aggregators.user(), aggregators.assistant()
    hints = [ToolHints()] if settings.llm.tool_hints else []
    lag = FrameLagMeter(ends_audio=True)  # the caller's audio goes no further
    heard = [transport.input(), stt, user, lag, PersonRequests(tools, call_id)]
    said = [transport.output(), AgentAudioEnd()]  # the agent's audio goes no further
    processors = [*heard, *hints, llm, tts, *said, assistant]
    pipeline = Pipeline(processors)
    transcript = TranscriptWriter(agent.transcripts_file, call_id)
    _log_conversation(user, assistant, transcript, agent.redaction, agent.transcripts_raw)
    worker = PipelineWorker(
        pipeline,
        params=PipelineParams(
            audio_in_sample_rate=IN_RATE,
            audio_out_sample_rate=settings.tts.sample_rate,
            enable_metrics=True,
        ),
        cancel_on_idle_timeout=True,
        enable_rtvi=console,  # a phone line carries no RTVI messages: no RTVI hop, no observer
        enable_turn_tracking=False,  # only Pipecat's tracing reads it (turn_events.py tracks turns)
    )
    observe_selectively(worker)  # no observer event per caller audio frame
    sinks = [file_sink(transcript), stage_metrics] + ([rtvi_sink(worker)] if console else [])
    TurnEvents(sinks).attach(worker, user, stop)
    hand_off_when_transferred(worker, context, tools, agent, call_id)
    idle = CallerIdle(worker, user, agent, call_id)
    opening = [idle.first_timeout()] if idle.enabled else []
    opening += [TTSSpeakFrame(GREETING)] if greet else []
    if opening:

        @worker.event_handler("on_pipeline_started")
        async def _open(_worker: PipelineWorker, _frame: object) -> None:
            await worker.queue_frames(opening)

    _warm_llm_while_greeting(worker, llm, settings, GREETING if greet else "")
    return worker, tools


def _warm_llm_while_greeting(
    worker: PipelineWorker, llm: OpenAILLMService, settings: Settings, greeting: str
) -> None:
    """Once the call starts, have the LLM prefill the call's opening (system prompt, greeting,
    tools) in the background, so the first answer only waits for the caller's words
    (pipeline/agent/llm_warmup.py); a failure only costs that head start."""
    tools = llm.get_llm_adapter().to_provider_tools_format(TOOLS)
    warming: set[asyncio.Task] = set()  # keeps the task referenced until it is done

    @worker.event_handler("on_pipeline_started")
    async def _warm(_worker: PipelineWorker, _frame: object) -> None:
        task = asyncio.create_task(warm_prefix(settings.llm, SYSTEM_PROMPT, greeting, tools))
        warming.add(task)
        task.add_done_callback(warming.discard)


def _log_conversation(
    user: FrameProcessor,
    assistant: FrameProcessor,
    transcript: TranscriptWriter,
    redaction: bool,
    transcripts_raw: bool,
) -> None:
    """Log each finished caller and agent turn (the call's transcript, in the agent's log),
    and write it to the transcripts file when one is set; with `redaction`, digit runs are
    masked (each speaker's turns through one TurnMask), in the file too unless
    `transcripts_raw`."""
    masks = {"caller": TurnMask(), "agent": TurnMask()} if redaction else {}

    def record(role: str, content: str | None, started_at: str, interrupted: bool) -> None:
        text = content or ""
        masked = masks.get(role, keep)(text)
        log.info("%s: %s%s", role, masked, " (interrupted)" if interrupted else "")
        transcript.turn(role, text if transcripts_raw else masked, started_at, interrupted)

    @user.event_handler("on_user_turn_stopped")
    async def _heard(_aggregator: object, _strategy: object, message: Any) -> None:
        record("caller", message.content, message.timestamp, False)

    @assistant.event_handler("on_assistant_turn_stopped")
    async def _said(_aggregator: object, message: Any) -> None:
        record("agent", message.content, message.timestamp, message.interrupted)


async def run_call(
    worker: PipelineWorker, call_id: str = "", transfer: Callable[[str], None] | None = None
) -> str:
    """Run one call's worker until its pipeline ends (hang-up, transfer, or an error), with
    its metrics and service-failure handling (given `transfer`, a failed service transfers
    the call instead of hanging up); returns the outcome (completed, apologized, transferred,
    failed), also counted in switchboard_agent_calls_total."""
    measure_call(worker)
    failures = ServiceFailureHandler(worker, call_id, transfer=transfer)
    runner = WorkerRunner(handle_sigint=False)
    try:
        await runner.add_workers(worker)
        await runner.run()
    except Exception:
        failures.outcome = "failed"
        raise
    finally:
        CALLS.labels(failures.outcome).inc()
        asyncio.get_running_loop().call_later(COLLECT_DELAY_S, _collect_finished_call)
    return failures.outcome


def _collect_finished_call() -> None:
    """Free the finished call's reference cycles now (pipeline/process_memory.py)."""
    found, seconds = collect_finished_calls()
    COLLECT_PAUSE.observe(seconds)
    log.debug("collected %d objects of finished calls in %.0f ms", found, seconds * 1000)
