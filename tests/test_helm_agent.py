"""helm/switchboard's agent: its ports, probes, shutdown, settings, network modes and Service."""

import helm_python as helm
import helm_render as hr
import pytest
from helm_fixtures import PROFILES, rendered_all, settings_from_env, values


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict]]:
    return rendered_all()


# --- the agent ------------------------------------------------------------------------------


@pytest.mark.parametrize("profile", PROFILES)
def test_agent_runs_serve_with_its_ports(profile, rendered):
    agent_values = values(profile)["agent"]
    deployment = hr.find(rendered[profile], "Deployment", "agent")
    container = hr.container(deployment)
    assert container["command"] + container["args"] == ["switchboard", "serve"]
    assert deployment["spec"]["replicas"] == agent_values["replicaCount"]

    named = {
        (p["name"], p["protocol"]): p["containerPort"] for p in container["ports"] if "name" in p
    }
    ports = agent_values["ports"]
    assert named == {
        ("sip-udp", "UDP"): ports["sip"],
        ("sip-tcp", "TCP"): ports["sip"],
        ("audiosocket", "TCP"): ports["audiosocket"],
        ("websocket", "TCP"): ports["websocket"],
        ("metrics", "TCP"): ports["metrics"],
        ("health", "TCP"): ports["health"],
    }
    rtp = sorted(p["containerPort"] for p in container["ports"] if "name" not in p)
    low, high = agent_values["rtp"]["portMin"], agent_values["rtp"]["portMax"]
    assert rtp == list(range(low, high + 1))
    assert all(p["protocol"] == "UDP" for p in container["ports"] if "name" not in p)


@pytest.mark.parametrize("profile", PROFILES)
def test_agent_is_ready_only_through_readyz_and_drains_on_shutdown(profile, rendered):
    agent_values = values(profile)["agent"]
    deployment = hr.find(rendered[profile], "Deployment", "agent")
    container = hr.container(deployment)
    health = next(p for p in container["ports"] if p.get("name") == "health")
    assert health["containerPort"] == agent_values["ports"]["health"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "health"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert container["startupProbe"]["httpGet"]["port"] == "health"

    shutdown = agent_values["shutdown"]
    pod = deployment["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] == shutdown["terminationGracePeriodSeconds"]
    assert container["lifecycle"]["preStop"]["exec"]["command"] == [
        "sleep",
        str(shutdown["drainSeconds"]),
    ]
    # serve finishes its calls for callDrainSeconds after preStop; Kubernetes waits longer.
    env = hr.env(deployment)
    assert env["SWITCHBOARD_AGENT__DRAIN_TIMEOUT_S"] == str(shutdown["callDrainSeconds"])
    grace = shutdown["terminationGracePeriodSeconds"]
    assert shutdown["drainSeconds"] + shutdown["callDrainSeconds"] < grace
    # A rollout never removes a serving agent before its replacement is ready.
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def _service_port(objs, address: str) -> dict:
    host, port = address.split(":")
    service = hr.find(objs, "Service", host)
    return next(p for p in service["spec"]["ports"] if p["port"] == int(port))


def test_gpu_agents_use_the_turn_server_and_the_nims(rendered, monkeypatch):
    objs = rendered["gpu"]
    settings = settings_from_env(hr.find(objs, "Deployment", "agent"), monkeypatch)
    nim = values("gpu")["nim"]
    assert settings.turn.engine == "triton"
    assert _service_port(objs, settings.turn.triton_url)["name"] == "grpc"
    assert settings.asr.server == nim["asr"]["server"]
    assert settings.asr.model == nim["asr"]["model"]
    assert settings.tts.server == nim["tts"]["server"]
    assert settings.tts.voice == nim["tts"]["voice"]
    assert settings.llm.base_url == nim["llm"]["baseUrl"]
    assert settings.llm.model == nim["llm"]["model"]


def test_cpu_only_agents_score_turns_themselves_and_use_the_stand_ins(rendered, monkeypatch):
    objs = rendered["cpu-only"]
    settings = settings_from_env(hr.find(objs, "Deployment", "agent"), monkeypatch)
    stand_ins = values("cpu-only")["standIns"]
    assert settings.turn.engine == "local"
    assert settings.turn.device == "cpu"
    assert settings.asr.server == settings.tts.server
    assert _service_port(objs, settings.asr.server)["name"] == "grpc"
    assert settings.asr.model == stand_ins["speech"]["asrModel"]
    assert settings.tts.voice == stand_ins["speech"]["voice"]
    llm_host_port = settings.llm.base_url.removeprefix("http://").removesuffix("/v1")
    assert _service_port(objs, llm_host_port)["name"] == "http"
    assert settings.llm.model == stand_ins["llm"]["model"]


def test_agent_settings_override_what_the_chart_derives(monkeypatch):
    objs = hr.render("default", {"agent": {"settings": {"turn": {"fallback": "complete"}}}})
    settings = settings_from_env(hr.find(objs, "Deployment", "agent"), monkeypatch)
    assert settings.turn.fallback == "complete"


@pytest.mark.parametrize(
    ("mode", "address_from"), [("podIP", "status.podIP"), ("hostNetwork", "status.hostIP")]
)
def test_agent_network_modes(mode, address_from):
    deployment = hr.find(
        hr.render("default", {"agent": {"network": {"mode": mode}}}), "Deployment", "agent"
    )
    pod = deployment["spec"]["template"]["spec"]
    advertised = hr.env(deployment)["SWITCHBOARD_AGENT__ADVERTISE_ADDRESS"]
    assert advertised == {"fieldRef": {"fieldPath": address_from}}
    rtp = [p for p in hr.container(deployment)["ports"] if "name" not in p]
    if mode == "hostNetwork":
        assert pod["hostNetwork"] is True
        assert pod["dnsPolicy"] == "ClusterFirstWithHostNet"
        assert rtp == []  # the whole range is the node's: nothing to list
    else:
        assert "hostNetwork" not in pod
        assert rtp


def test_host_port_mode_publishes_sip_and_every_rtp_port_on_the_node():
    overrides = {
        "agent": {"network": {"mode": "hostPort"}, "rtp": {"portMin": 20000, "portMax": 20009}}
    }
    container = hr.container(hr.find(hr.render("default", overrides), "Deployment", "agent"))
    published = {(p["hostPort"], p["protocol"]) for p in container["ports"] if "hostPort" in p}
    expected = {(5060, "UDP"), (5060, "TCP")} | {(port, "UDP") for port in range(20000, 20010)}
    assert published == expected


def test_agent_service_carries_sip_audiosocket_and_websocket(rendered):
    service = hr.find(rendered["gpu"], "Service", "agent")
    ports = {(p["name"], p["protocol"], p["port"]) for p in service["spec"]["ports"]}
    assert ports == {
        ("sip-udp", "UDP", 5060),
        ("sip-tcp", "TCP", 5060),
        ("audiosocket", "TCP", 9092),
        ("websocket", "TCP", 8765),
    }
    assert service["spec"]["type"] == values("gpu")["agent"]["service"]["type"]
    assert service["spec"]["externalTrafficPolicy"] == "Local"


def test_a_grace_period_shorter_than_the_drains_fails_the_render():
    shutdown = {"drainSeconds": 15, "callDrainSeconds": 600, "terminationGracePeriodSeconds": 600}
    with pytest.raises(helm.HelmRenderError, match=r"must exceed drainSeconds \+ callDrain"):
        hr.render("default", {"agent": {"shutdown": shutdown}})
