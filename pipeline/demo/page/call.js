// The browser side of a demo call: microphone -> WebRTC -> agent, agent's voice -> <audio>.
// Signalling is Pipecat's SmallWebRTC offer/answer (POST api/offer with {sdp, type}), with
// every ICE candidate gathered before the offer is sent, so no trickle requests are needed.

const button = document.getElementById("connect");
const statusLine = document.getElementById("status");
const agentAudio = document.getElementById("agent");
let pc = null;

function show(state) {
  statusLine.textContent = state;
  document.body.dataset.state = state;
}

function gathered(peer) {
  if (peer.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    peer.addEventListener("icegatheringstatechange", () => {
      if (peer.iceGatheringState === "complete") resolve();
    });
  });
}

async function connect() {
  show("connecting");
  if (!navigator.mediaDevices) {
    throw new Error("the microphone needs the page served from localhost or over HTTPS");
  }
  const microphone = await navigator.mediaDevices.getUserMedia({ audio: true });
  pc = new RTCPeerConnection();
  pc.addTransceiver(microphone.getAudioTracks()[0], { direction: "sendrecv" });
  pc.createDataChannel("chat"); // the agent's side expects one; this page sends nothing on it
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
  const response = await fetch("api/offer", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ sdp: pc.localDescription.sdp, type: pc.localDescription.type }),
  });
  if (!response.ok) throw new Error(`offer refused: HTTP ${response.status}`);
  await pc.setRemoteDescription(await response.json());
  button.textContent = "Hang up";
}

function hangUp(reason = "disconnected") {
  pc.getSenders().forEach((sender) => sender.track?.stop());
  pc.close();
  pc = null;
  button.textContent = "Connect";
  show(reason);
}

show("disconnected");
button.addEventListener("click", () => {
  if (pc) return hangUp();
  connect().catch((error) => {
    const reason = `failed: ${error.message}`;
    if (pc) hangUp(reason);
    else show(reason);
  });
});
