// The turn console: Pipecat's RTVI messages in, the page's conversation, turn decisions and
// latency breakdowns out. Caller words come from RTVI user-transcription (interim, then final),
// agent words from bot-tts-text (as spoken); the turn events are RTVI server-message of our own
// type "switchboard-turn" (pipeline/agent/turn_events.py; stage names from turn_stages.py).

import { Timeline, stageColor, stageParts } from "./timeline.js";

const TURN_MESSAGE = "switchboard-turn";

export class Console {
  constructor(doc) {
    this.doc = doc;
    this.transcript = doc.getElementById("transcript");
    this.turns = doc.getElementById("turns");
    this.timeline = new Timeline(doc.getElementById("timeline"));
    this.callerLine = null; // the caller line being heard: {line, final, interim}
    this.agentLine = null; // the agent line being spoken
    this.answers = 0;
  }

  handle(message) {
    if (message.label !== "rtvi-ai") return;
    const data = message.data ?? {};
    switch (message.type) {
      case "user-transcription":
        return this.callerWords(data.text ?? "", Boolean(data.final));
      case "bot-tts-text":
        return this.agentWords(data.text ?? "");
      case "bot-stopped-speaking":
        this.agentLine = null;
        return;
      case "server-message":
        if (data.type === TURN_MESSAGE) this.turnEvent(data);
        return;
      default:
        return;
    }
  }

  line(role) {
    const line = this.doc.createElement("div");
    line.className = `line ${role}`;
    line.innerHTML = `<b>${role}:</b> <span class="words"></span> <span class="interim"></span>`;
    this.transcript.append(line);
    this.transcript.scrollTop = this.transcript.scrollHeight;
    return line;
  }

  callerWords(text, final) {
    if (!this.callerLine) this.callerLine = { line: this.line("caller"), final: "" };
    const { line } = this.callerLine;
    if (final) {
      this.callerLine.final = `${this.callerLine.final} ${text}`.trim();
      line.querySelector(".words").textContent = this.callerLine.final;
      line.querySelector(".interim").textContent = "";
    } else {
      line.querySelector(".interim").textContent = text;
    }
  }

  agentWords(text) {
    if (!this.agentLine) this.agentLine = this.line("agent");
    const words = this.agentLine.querySelector(".words");
    words.textContent = `${words.textContent} ${text}`.trim();
    this.transcript.scrollTop = this.transcript.scrollHeight;
  }

  turnEvent(event) {
    this.timeline.add(event);
    if (event.kind === "turn_ask") this.showAsk(event);
    else if (event.kind === "turn_end") this.callerLine = null;
    else if (event.kind === "turn_latency") this.showLatency(event.stages_ms);
    else if (event.kind === "caller_started" && event.barge_in) this.note("barge-in");
  }

  note(text, className = "ask") {
    const item = this.doc.createElement("div");
    item.className = className;
    item.textContent = text;
    this.turns.append(item);
    this.turns.scrollTop = this.turns.scrollHeight;
    return item;
  }

  showAsk(ask) {
    const p = ask.probability == null ? "no answer" : `p=${ask.probability.toFixed(2)}`;
    const why = ask.verdict === "fallback" ? ` (${ask.reason})` : "";
    const item = this.note(`turn ask: ${p} ${ask.verdict}${why}, hold ${Math.round(ask.hold_ms)} ms`);
    item.classList.add("turn-ask", ask.verdict);
  }

  showLatency(stages) {
    this.answers += 1;
    const item = this.note("", "latency");
    const parts = stageParts(stages);
    const total = stages.total ?? 0;
    const head = this.doc.createElement("div");
    head.textContent = `answer ${this.answers}: ${Math.round(total)} ms from your last word ` +
      `(agent's own share ${Math.round(stages.agent_share ?? 0)} ms)`;
    const bar = this.doc.createElement("div");
    bar.className = "bar";
    const legend = this.doc.createElement("div");
    legend.className = "stages";
    parts.forEach(([name, ms, i]) => {
      const piece = this.doc.createElement("span");
      piece.style.width = `${(100 * ms) / Math.max(total, 1)}%`;
      piece.style.background = stageColor(i);
      piece.title = `${name} ${Math.round(ms)} ms`;
      bar.append(piece);
    });
    legend.textContent = parts.map(([name, ms]) => `${name} ${Math.round(ms)}`).join(", ");
    item.append(head, bar, legend);
  }
}
