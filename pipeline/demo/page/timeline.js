// The live timeline: the agent's turn events (server clock, epoch seconds) in, a canvas that
// scrolls over the last WINDOW_S seconds out. Lanes, top to bottom: caller speech (a red mark
// where the caller barged in), turn asks (dot by verdict, with the probability) and turn ends
// (black bar), each answer's wait from the caller's last word to the agent's first audio (by
// stage, coloured as in the latency breakdown), and
// the agent's speech (hatched grey when cut off). The same lanes as `switchboard timeline`.

const WINDOW_S = 30;

// An answer's stages that took time, in the order the agent sends them (turn_stages.STAGES,
// every one present), each with its place in that order (its colour): [name, ms, index].
export function stageParts(stages) {
  return Object.entries(stages)
    .map(([name, ms], index) => [name, ms, index])
    .filter(([name, ms]) => name !== "total" && name !== "agent_share" && ms >= 1);
}

export function stageColor(i) {
  return `hsl(${(i * 47) % 360}, 60%, 60%)`;
}
const COLORS = { complete: "#2a7a2a", incomplete: "#d08000", fallback: "#c00000" };
const LANES = { caller: 20, turn: 58, latency: 92, agent: 124 };

export class Timeline {
  constructor(canvas) {
    this.canvas = canvas;
    this.spans = []; // {lane, start, end, interrupted}
    this.marks = []; // {kind, at, ...event}
    this.open = {};
    this.clockOffset = null; // server epoch - browser epoch, from the first event
    const tick = () => {
      this.draw();
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  }

  add(event) {
    const now = Date.now() / 1000;
    if (this.clockOffset === null) this.clockOffset = event.at - now;
    const at = event.at;
    switch (event.kind) {
      case "caller_started":
      case "agent_started":
        this.open[event.kind.split("_")[0]] = at;
        if (event.barge_in) this.marks.push({ kind: "barge_in", at });
        return;
      case "caller_stopped":
      case "agent_stopped": {
        const lane = event.kind.split("_")[0];
        const start = this.open[lane] ?? at;
        delete this.open[lane];
        this.spans.push({ lane, start, end: at, interrupted: Boolean(event.interrupted) });
        return;
      }
      case "turn_latency": {
        let start = at - event.stages_ms.total / 1000;
        stageParts(event.stages_ms).forEach(([name, ms, i]) => {
          const end = start + ms / 1000;
          this.spans.push({ lane: "latency", start, end, colour: stageColor(i), name });
          start = end;
        });
        this.marks.push({ kind: "latency", at, total: event.stages_ms.total });
        return;
      }
      default:
        this.marks.push({ ...event, at });
    }
  }

  draw() {
    const ctx = this.canvas.getContext("2d");
    const { width, height } = this.canvas;
    const now = Date.now() / 1000 + (this.clockOffset ?? 0);
    const x = (t) => 60 + ((t - (now - WINDOW_S)) / WINDOW_S) * (width - 70);
    ctx.clearRect(0, 0, width, height);
    ctx.font = "11px system-ui";
    ctx.fillStyle = "#555";
    for (const [lane, y] of Object.entries(LANES)) ctx.fillText(lane, 4, y + 4);
    const live = Object.entries(this.open).map(([lane, start]) => ({ lane, start, end: now }));
    for (const span of [...this.spans, ...live]) {
      const colour = { caller: "#3b7dd8", agent: "#3aa03a", latency: "#e0a030" }[span.lane];
      ctx.fillStyle = span.interrupted ? "#999" : span.colour ?? colour;
      ctx.fillRect(x(span.start), LANES[span.lane] - 7, Math.max(2, x(span.end) - x(span.start)), 14);
    }
    for (const mark of this.marks) this.drawMark(ctx, mark, x(mark.at));
  }

  drawMark(ctx, mark, px) {
    if (mark.kind === "turn_ask") {
      ctx.fillStyle = COLORS[mark.verdict] ?? "#000";
      ctx.beginPath();
      ctx.arc(px, LANES.turn, 5, 0, 2 * Math.PI);
      ctx.fill();
      const label = mark.probability == null ? mark.reason : mark.probability.toFixed(2);
      ctx.fillText(label, px - 10, LANES.turn - 9);
    } else if (mark.kind === "turn_end") {
      ctx.fillStyle = "#000";
      ctx.fillRect(px - 1, LANES.turn - 10, 3, 20);
    } else if (mark.kind === "barge_in") {
      ctx.fillStyle = "#c00000";
      ctx.fillText("x", px - 3, LANES.caller + 4);
    } else if (mark.kind === "latency") {
      ctx.fillStyle = "#333";
      ctx.fillText(`${Math.round(mark.total)} ms`, px + 3, LANES.latency + 4);
    }
  }
}
