// The browser side of a demo call: microphone -> WebRTC -> agent, agent's voice -> <audio>,
// and the agent's RTVI messages (Pipecat's client protocol, on the data channel) -> the console.
// Signalling is Pipecat's SmallWebRTC offer/answer (POST api/offer with {sdp, type}), with
// every ICE candidate gathered before the offer is sent, so no trickle requests are needed.

import { Console } from "./console.js";
import { LevelMeter } from "./meter.js";

const button = document.getElementById("connect");
const muteButton = document.getElementById("mute");
const statusLine = document.getElementById("status");
const errorLine = document.getElementById("error");
const agentAudio = document.getElementById("agent");
const view = new Console(document);
const meter = new LevelMeter(document.getElementById("level"));
let pc = null;
let microphone = null;

function show(state) {
  statusLine.textContent = state;
  document.body.dataset.state = state;
}

function showError(message) {
  errorLine.textContent = message;
}

function gathered(peer) {
  if (peer.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    peer.addEventListener("icegatheringstatechange", () => {
      if (peer.iceGatheringState === "complete") resolve();
    });
  });
}

async function openMicrophone() {
  if (!navigator.mediaDevices) {
    throw new Error("the microphone needs the page served from localhost or over HTTPS");
  }
  try {
    return await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (error) {
    if (error.name === "NotAllowedError" || error.name === "SecurityError") {
      throw new Error("the microphone was refused: allow it for this page and click Connect again");
    }
    if (error.name === "NotFoundError") throw new Error("no microphone was found");
    throw error;
  }
}

function rtviChannel(peer) {
  // Pipecat's RTVI: the page says it is ready, then the agent sends its messages here.
  const channel = peer.createDataChannel("chat");
  channel.onopen = () => {
    const ready = { version: "2.2.0", about: { library: "switchboard-console" } };
    channel.send(JSON.stringify({ label: "rtvi-ai", type: "client-ready", id: "1", data: ready }));
  };
  // The agent ending the call closes its side of the connection, and this channel first:
  // ICE would take seconds to call the connection "failed".
  channel.onclose = () => {
    if (pc) hangUp("the agent hung up");
  };
  channel.onmessage = (event) => {
    if (typeof event.data !== "string" || event.data.startsWith("ping")) return;
    try {
      view.handle(JSON.parse(event.data));
    } catch (error) {
      console.warn("unreadable message from the agent", error);
    }
  };
}

async function connect() {
  show("connecting");
  showError("");
  microphone = await openMicrophone();
  meter.start(microphone);
  pc = new RTCPeerConnection();
  pc.addTransceiver(microphone.getAudioTracks()[0], { direction: "sendrecv" });
  rtviChannel(pc);
  pc.ontrack = (event) => {
    agentAudio.srcObject = event.streams[0] ?? new MediaStream([event.track]);
  };
  pc.onconnectionstatechange = () => {
    // "failed": the agent hung up or went away; "disconnected" may still recover.
    if (pc.connectionState === "failed") hangUp("the agent hung up");
    else show(pc.connectionState);
  };
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc);
  let response;
  try {
    response = await fetch("api/offer", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sdp: pc.localDescription.sdp, type: pc.localDescription.type }),
    });
  } catch (error) {
    throw new Error(`cannot reach the agent (${error.message}): is switchboard demo running?`);
  }
  if (!response.ok) {
    const detail = await response.text();
    throw new Error(`the agent refused the call: HTTP ${response.status} ${detail}`);
  }
  await pc.setRemoteDescription(await response.json());
  button.textContent = "Hang up";
  muteButton.disabled = false;
}

function hangUp(reason = "disconnected") {
  if (pc) {
    pc.getSenders().forEach((sender) => sender.track?.stop());
    pc.close();
  }
  microphone?.getTracks().forEach((track) => track.stop());
  meter.stop();
  pc = null;
  microphone = null;
  button.textContent = "Connect";
  muteButton.disabled = true;
  muteButton.textContent = "Mute";
  show(reason);
}

function toggleMute() {
  const track = microphone?.getAudioTracks()[0];
  if (!track) return;
  track.enabled = !track.enabled;
  muteButton.textContent = track.enabled ? "Mute" : "Unmute";
  document.body.dataset.muted = String(!track.enabled);
}

show("disconnected");
muteButton.addEventListener("click", toggleMute);
button.addEventListener("click", () => {
  if (pc) return hangUp();
  connect().catch((error) => {
    const reason = `failed: ${error.message}`;
    showError(error.message);
    if (pc || microphone) hangUp(reason);
    else show(reason);
  });
});
