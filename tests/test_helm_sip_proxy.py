"""helm/switchboard's optional SIP proxy (sipProxy): Kamailio's Deployment, its generated
configuration, Services, disruption budget and network policy, the agents' allow-list behind
it, and the agents' autoscaler on calls in progress. (The generated kamailio.cfg itself carries
calls in tests/test_sip_proxy.py.)"""

import dockerfile
import helm_python as helm
import helm_render as hr
import kubernetes_validate
import pytest
import yaml
from helm_fixtures import settings_from_env
from helm_network import PBX, allowed, pod_of

ON = {"sipProxy": {"enabled": True, "podNetworks": ["10.244.0.0/16"]}}
SCALED = {**ON, "agent": {"autoscaling": {"enabled": True}}}


@pytest.fixture(scope="module")
def objs() -> list[dict]:
    return hr.render("default", SCALED)


def test_off_by_default_and_the_agent_service_keeps_sip():
    objs = hr.render("default")
    assert not [o for o in objs if o["metadata"]["name"].endswith(("sip-proxy", "agent-sip"))]
    ports = {p["name"] for p in hr.find(objs, "Service", "agent")["spec"]["ports"]}
    assert {"sip-udp", "sip-tcp"} <= ports


@pytest.mark.parametrize("version", ["1.27", kubernetes_validate.utils.latest_version()])
def test_every_object_matches_the_kubernetes_api_schema(objs, version):
    for obj in objs:
        kubernetes_validate.validate(obj, version, strict=True)


def test_lint_strict_with_the_proxy_on():
    report = hr.lint("default", SCALED)
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert not problems and not report["errors"], problems or report["errors"]


def test_two_kamailio_replicas_with_discovery_and_a_disruption_budget(objs):
    deployment = hr.find(objs, "Deployment", "sip-proxy")
    pod = deployment["spec"]["template"]["spec"]
    assert deployment["spec"]["replicas"] >= 2
    kamailio = next(c for c in pod["containers"] if c["name"] == "kamailio")
    assert kamailio["command"] == ["kamailio"] and "udp:$(POD_IP):5060" in kamailio["args"]
    assert {c["name"] for c in pod["containers"]} == {"kamailio", "discover-agents"}
    env = {e["name"]: e["value"] for e in pod["initContainers"][0]["env"]}
    assert env["AGENTS_HOST"] == "sb-switchboard-agent-sip.voice.svc.cluster.local"
    assert hr.find(objs, "PodDisruptionBudget", "sip-proxy")["spec"]["maxUnavailable"] == 1
    headless = hr.find(objs, "Service", "agent-sip")["spec"]
    assert headless["clusterIP"] == "None" and not headless["publishNotReadyAddresses"]


def test_the_generated_config_probes_fails_over_and_record_routes(objs):
    config = hr.find(objs, "ConfigMap", "sip-proxy")["data"]["kamailio.cfg"]
    for line in (
        'modparam("dispatcher", "ds_ping_interval", 1)',
        'modparam("dispatcher", "ds_probing_mode", 1)',
        'modparam("tm", "fr_timer", 1000)',
        'record_route_preset("sb-switchboard-sip-proxy.voice.svc.cluster.local:5060")',
        'ds_select_dst("1", "4")',
        'is_in_subnet("$si", "10.20.30.0/24")',
        't_check_status("503|486")',
    ):
        assert line in config, line
    least = hr.render("default", {**ON, "sipProxy": {**ON["sipProxy"], "algorithm": "leastCalls"}})
    config = hr.find(least, "ConfigMap", "sip-proxy")["data"]["kamailio.cfg"]
    assert 'ds_select_dst("1", "10")' in config and "ds_load_unset()" in config


def test_sip_goes_to_the_proxy_and_the_agents_take_sip_from_its_pods(objs, monkeypatch):
    proxy_service = hr.find(objs, "Service", "sip-proxy")
    assert {p["name"] for p in proxy_service["spec"]["ports"]} == {"sip-udp", "sip-tcp"}
    agent_ports = {p["name"] for p in hr.find(objs, "Service", "agent")["spec"]["ports"]}
    assert not {"sip-udp", "sip-tcp"} & agent_ports
    settings = settings_from_env(hr.find(objs, "Deployment", "agent"), monkeypatch)
    peers = [str(net) for net in settings.agent.allowed_peers]
    assert peers == ["10.20.30.0/24", "10.244.0.0/16"]
    lb = {"sipProxy": {**ON["sipProxy"], "recordRouteAddress": "10.40.5.60"}}
    with_lb = settings_from_env(
        hr.find(hr.render("default", lb), "Deployment", "agent"), monkeypatch
    )
    assert [str(net) for net in with_lb.agent.allowed_peers][-1] == "10.40.5.60/32"
    proxy, agent = pod_of(objs, "sip-proxy"), pod_of(objs, "agent")
    for protocol in ("UDP", "TCP"):
        assert allowed(objs, PBX, proxy, 5060, protocol)
        assert allowed(objs, proxy, agent, 5060, protocol)
        assert allowed(objs, agent, proxy, 5060, protocol)  # BYE, REFER
    assert allowed(objs, proxy, PBX, 5060, "UDP")
    assert not allowed(objs, proxy, agent, 8080)


def test_agents_scale_on_active_calls_with_cpu_beside_it(objs):
    hpa = hr.find(objs, "HorizontalPodAutoscaler", "agent")["spec"]
    pods, resource = hpa["metrics"]
    assert pods["pods"]["metric"]["name"] == "switchboard_agent_active_calls"
    assert resource["resource"]["name"] == "cpu"
    assert hpa["scaleTargetRef"]["name"] == "sb-switchboard-agent"


def test_the_proxy_needs_the_pod_networks():
    with pytest.raises(helm.HelmValuesError) as caught:
        hr.render("default", {"sipProxy": {"enabled": True}})
    assert "podNetworks" in str(caught.value)


def test_the_proxy_image_is_debians_kamailio_as_the_charts_user():
    """Dockerfile.kamailio, read by BuildKit's parser (no Docker engine here): Debian 12's
    kamailio package (the one the tests run), the chart's non-root user, the chart's command."""
    commands = dockerfile.parse_file(str(hr.CHART_DIR.parent.parent / "Dockerfile.kamailio"))
    by_cmd: dict[str, list] = {}
    for command in commands:
        by_cmd.setdefault(command.cmd, []).append(command.value)
    assert by_cmd["ARG"][0] == ("DEBIAN_IMAGE=debian:12-slim",)
    runs = " ".join(value[0] for value in by_cmd["RUN"])
    assert "apt-get install -y --no-install-recommends kamailio" in runs
    user = yaml.safe_load((hr.CHART_DIR / "values.yaml").read_text())["podSecurityContext"]
    assert by_cmd["USER"][-1] == (f"{user['runAsUser']}:{user['runAsGroup']}",)
    assert by_cmd["ENTRYPOINT"][-1] == ("kamailio",)


def test_a_bare_transfer_extension_is_refused_behind_the_proxy():
    """A bare extension is dialled at the INVITE's sender: behind the proxy, the proxy."""
    bare = {**ON, "agent": {"settings": {"agent": {"sip_transfer_target": "1000"}}}}
    with pytest.raises(helm.HelmRenderError) as caught:
        hr.render("default", bare)
    assert "sip:1000@pbx.example" in str(caught.value)
    uri = {**ON, "agent": {"settings": {"agent": {"sip_transfer_target": "sip:1000@pbx"}}}}
    assert hr.render("default", uri)
