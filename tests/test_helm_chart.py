"""helm/switchboard, rendered by Helm's own engine (helm-python-sdk) for each shipped profile.

Checks: `helm lint --strict`; every object against the Kubernetes API's JSON schemas for the
oldest and newest Kubernetes the chart supports (kubernetes-validate ships them: offline); the
objects and settings the deployment needs; the NetworkPolicies, by evaluating who may reach
whom; values.schema.json rejecting bad values with a message that names the key.
"""

import ipaddress
import json
import re

import helm_python as helm
import helm_render as hr
import jsonschema
import kubernetes_validate
import pytest
import yaml

PROFILES = list(hr.PROFILES)
# The chart's kubeVersion floor (Chart.yaml) and the newest schemas kubernetes-validate ships.
KUBE_VERSIONS = (
    re.search(
        r"(\d+\.\d+)", yaml.safe_load((hr.CHART_DIR / "Chart.yaml").read_text())["kubeVersion"]
    )[1],
    kubernetes_validate.utils.latest_version(),
)

# ServiceMonitor is a CRD (Prometheus Operator), so Kubernetes' schemas lack it: this is the
# subset of monitoring.coreos.com/v1 ServiceMonitor that the chart uses, closed to other keys.
_LABELS = {"type": "object", "additionalProperties": {"type": "string"}}
SERVICE_MONITOR_SCHEMA = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "metadata": {
            "type": "object",
            "required": ["name"],
            "properties": {"name": {"type": "string"}, "labels": _LABELS},
            "additionalProperties": False,
        },
        "spec": {
            "type": "object",
            "required": ["selector", "endpoints"],
            "additionalProperties": False,
            "properties": {
                "selector": {
                    "type": "object",
                    "properties": {"matchLabels": _LABELS},
                    "additionalProperties": False,
                },
                "namespaceSelector": {
                    "type": "object",
                    "properties": {"matchNames": {"type": "array", "items": {"type": "string"}}},
                    "additionalProperties": False,
                },
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "port": {"type": "string"},
                            "path": {"type": "string"},
                            "interval": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$"},
                            "scrapeTimeout": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$"},
                        },
                    },
                },
            },
        },
    },
}


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict]]:
    return {profile: hr.render(profile) for profile in PROFILES}


def values(profile: str) -> dict:
    """The values Helm would use for a profile: the chart's defaults under the profile's file."""
    defaults = yaml.safe_load((hr.CHART_DIR / "values.yaml").read_text())
    return hr.deep_merge(defaults, hr.profile_values(profile))


def pods(objs: list[dict]) -> list[dict]:
    return [obj for obj in objs if obj["kind"] == "Deployment"]


# --- Helm's own checks ----------------------------------------------------------------------


@pytest.mark.parametrize("profile", PROFILES)
def test_lint_strict_reports_no_warning_or_error(profile):
    report = hr.lint(profile)
    problems = [m for m in report["messages"] if m["severity"] >= 2]  # 2 warning, 3 error
    assert not problems and not report["errors"], problems or report["errors"]


@pytest.mark.parametrize("profile", PROFILES)
def test_every_template_renders_valid_yaml_objects(profile, rendered):
    for obj in rendered[profile]:
        assert {"apiVersion", "kind", "metadata"} <= obj.keys(), obj
        assert len(obj["metadata"]["name"]) <= 63


# --- Kubernetes API schemas (offline) -------------------------------------------------------


@pytest.mark.parametrize("version", KUBE_VERSIONS)
@pytest.mark.parametrize("profile", PROFILES)
def test_every_object_matches_the_kubernetes_api_schema(profile, version, rendered):
    checked = 0
    for obj in rendered[profile]:
        if obj["apiVersion"].startswith("monitoring.coreos.com/"):
            jsonschema.validate(obj, SERVICE_MONITOR_SCHEMA)
        else:
            kubernetes_validate.validate(obj, version, strict=True)
        checked += 1
    assert checked >= 10


def test_the_schema_validator_rejects_a_broken_object(rendered):
    """The validation above has teeth: a misspelt field and a wrong type are caught."""
    deployment = hr.find(rendered["default"], "Deployment", "agent")
    misspelt = json.loads(json.dumps(deployment))
    misspelt["spec"]["replica"] = misspelt["spec"].pop("replicas")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(misspelt, KUBE_VERSIONS[0], strict=True)
    wrong_type = json.loads(json.dumps(deployment))
    hr.container(wrong_type)["ports"][0]["containerPort"] = "five thousand"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(wrong_type, KUBE_VERSIONS[0], strict=True)


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
    assert shutdown["drainSeconds"] < shutdown["terminationGracePeriodSeconds"]
    # A rollout never removes a serving agent before its replacement is ready.
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def _settings_from_env(deployment, monkeypatch):
    """Load pipeline.settings from the Deployment's SWITCHBOARD_* env, as the pod would."""
    from pipeline.settings import ENV_PREFIX, load_settings

    for name in [n for n in __import__("os").environ if n.startswith(ENV_PREFIX)]:
        monkeypatch.delenv(name)
    for name, value in hr.env(deployment).items():
        if name.startswith(ENV_PREFIX) and isinstance(value, str):
            monkeypatch.setenv(name, value)
    return load_settings()


def _service_port(objs, address: str) -> dict:
    host, port = address.split(":")
    service = hr.find(objs, "Service", host)
    return next(p for p in service["spec"]["ports"] if p["port"] == int(port))


def test_gpu_agents_use_the_turn_server_and_the_nims(rendered, monkeypatch):
    objs = rendered["gpu"]
    settings = _settings_from_env(hr.find(objs, "Deployment", "agent"), monkeypatch)
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
    settings = _settings_from_env(hr.find(objs, "Deployment", "agent"), monkeypatch)
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


def test_llm_api_key_comes_from_a_secret(monkeypatch):
    objs = hr.render("default", {"nim": {"llm": {"apiKeySecret": {"name": "nim-key"}}}})
    key = hr.env(hr.find(objs, "Deployment", "agent"))["SWITCHBOARD_LLM__API_KEY"]
    assert key == {"secretKeyRef": {"name": "nim-key", "key": "api-key"}}


def test_agent_settings_override_what_the_chart_derives(monkeypatch):
    objs = hr.render("default", {"agent": {"settings": {"turn": {"fallback": "complete"}}}})
    settings = _settings_from_env(hr.find(objs, "Deployment", "agent"), monkeypatch)
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


# --- the turn server ------------------------------------------------------------------------


def test_turn_server_runs_on_gpu_nodes_with_tritons_health_endpoints(rendered):
    turn_values = values("gpu")["turnServer"]
    deployment = hr.find(rendered["gpu"], "Deployment", "turn-server")
    container = hr.container(deployment)
    pod = deployment["spec"]["template"]["spec"]
    assert container["command"] + container["args"] == ["switchboard", "turn-server"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": 8000, "grpc": 8001, "metrics": 8002}
    assert container["livenessProbe"]["httpGet"] == {"path": "/v2/health/live", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/v2/health/ready", "port": "http"}
    gpus = turn_values["gpu"]["count"]
    assert gpus >= 1
    assert container["resources"]["limits"]["nvidia.com/gpu"] == gpus
    assert pod["tolerations"] == turn_values["tolerations"]
    assert pod["nodeSelector"] == turn_values["nodeSelector"]
    shm = next(v for v in pod["volumes"] if v["name"] == "dshm")
    assert shm["emptyDir"]["medium"] == "Memory"
    assert {"name": "dshm", "mountPath": "/dev/shm"} in container["volumeMounts"]
    assert hr.env(deployment)["SWITCHBOARD_TURN__DEVICE"] == "cuda"


def test_turn_server_autoscales_on_triton_queue_time(rendered):
    objs = rendered["gpu"]
    autoscaling = values("gpu")["turnServer"]["autoscaling"]
    hpa = hr.find(objs, "HorizontalPodAutoscaler", "turn-server")
    deployment = hr.find(objs, "Deployment", "turn-server")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": deployment["metadata"]["name"],
    }
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (
        autoscaling["minReplicas"],
        autoscaling["maxReplicas"],
    )
    (metric,) = hpa["spec"]["metrics"]
    assert metric["type"] == "Pods"
    assert metric["pods"]["metric"]["name"] == "avg_time_queue_us"
    assert metric["pods"]["target"] == {
        "type": "AverageValue",
        "averageValue": autoscaling["metric"]["targetAverageValue"],
    }
    assert "replicas" not in deployment["spec"]  # the HPA owns the replica count


def test_turn_server_can_scale_on_an_external_metric():
    overrides = {
        "turnServer": {
            "autoscaling": {
                "enabled": True,
                "metric": {
                    "type": "External",
                    "name": "nv_inference_queue_duration_us",
                    "selector": {"matchLabels": {"model": "smart_turn"}},
                },
            }
        }
    }
    hpa = hr.find(hr.render("default", overrides), "HorizontalPodAutoscaler", "turn-server")
    (metric,) = hpa["spec"]["metrics"]
    assert metric["type"] == "External"
    assert metric["external"]["metric"]["name"] == "nv_inference_queue_duration_us"
    assert metric["external"]["metric"]["selector"] == {"matchLabels": {"model": "smart_turn"}}


@pytest.mark.parametrize("component", ["agent", "turn-server"])
def test_pod_disruption_budgets_select_their_pods(component, rendered):
    objs = rendered["gpu"]
    pdb = hr.find(objs, "PodDisruptionBudget", component)
    labels = hr.find(objs, "Deployment", component)["spec"]["template"]["metadata"]["labels"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert pdb["spec"]["maxUnavailable"] == 1


def test_default_profile_has_no_hpa_or_servicemonitor(rendered):
    kinds = {obj["kind"] for obj in rendered["default"]}
    assert "HorizontalPodAutoscaler" not in kinds
    assert "ServiceMonitor" not in kinds
    assert "Deployment" in kinds


# --- the CPU stand-ins ----------------------------------------------------------------------


def test_cpu_only_runs_the_stand_ins_and_no_gpu_anything(rendered):
    objs = rendered["cpu-only"]
    speech = hr.container(hr.find(objs, "Deployment", "speech-server"))
    assert speech["command"] + speech["args"] == [
        "switchboard",
        "speech-server",
        "--host",
        "0.0.0.0",
        "--port",
        "50051",
    ]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert speech[probe]["grpc"] == {"port": 50051}
    llm = hr.container(hr.find(objs, "Deployment", "llm-server"))
    assert llm["command"] + llm["args"] == ["switchboard", "llm-server", "--port", "8000"]
    assert not [o for o in objs if o["metadata"]["name"].endswith("turn-server")]
    assert "nvidia.com/gpu" not in json.dumps(objs)


def test_gpu_profiles_run_no_stand_ins(rendered):
    for profile in ("default", "gpu"):
        names = {obj["metadata"]["name"] for obj in rendered[profile]}
        assert not {n for n in names if n.endswith(("speech-server", "llm-server"))}


# --- security -------------------------------------------------------------------------------


@pytest.mark.parametrize("profile", PROFILES)
def test_every_pod_is_locked_down_and_bounded(profile, rendered):
    deployments = pods(rendered[profile])
    assert deployments
    for deployment in deployments:
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] > 0
        assert pod["automountServiceAccountToken"] is False
        tmp = next(v for v in pod["volumes"] if v["name"] == "tmp")
        assert "emptyDir" in tmp
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True
            assert security["allowPrivilegeEscalation"] is False
            assert security["capabilities"]["drop"] == ["ALL"]
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= container["resources"][bound].keys()
            assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
            # numba's JIT cache needs a writable place on a read-only root filesystem.
            assert hr.env(deployment)["NUMBA_CACHE_DIR"].startswith("/tmp/")


def test_private_registry_prefix_digest_and_pull_secrets():
    digest = "sha256:" + "ab" * 32
    overrides = {
        "global": {
            "imageRegistry": "registry.cc.internal:5000",
            "imagePullSecrets": [{"name": "regcred"}],
        },
        "standIns": {"llm": {"image": {"repository": "switchboard/llm-standin", "digest": digest}}},
    }
    objs = hr.render("cpu-only", overrides)
    images = {}
    for deployment in pods(objs):
        pod = deployment["spec"]["template"]["spec"]
        assert pod["imagePullSecrets"] == [{"name": "regcred"}]
        images[deployment["metadata"]["name"]] = hr.container(deployment)["image"]
    assert (
        images["sb-switchboard-agent"]
        == "registry.cc.internal:5000/switchboard/switchboard-cuda:0.1.0"
    )
    assert (
        images["sb-switchboard-llm-server"]
        == f"registry.cc.internal:5000/switchboard/llm-standin@{digest}"
    )
    assert all(image.startswith("registry.cc.internal:5000/") for image in images.values())


# --- NetworkPolicy --------------------------------------------------------------------------


def _selects(selector: dict, labels: dict) -> bool:
    assert not selector.get("matchExpressions"), "the evaluator handles matchLabels only"
    return selector.get("matchLabels", {}).items() <= labels.items()


def _peer_matches(peer: dict, policy_ns: str, endpoint: dict) -> bool:
    if "ipBlock" in peer:
        if "ip" not in endpoint:
            return False
        ip = ipaddress.ip_address(endpoint["ip"])
        block = peer["ipBlock"]
        return ip in ipaddress.ip_network(block["cidr"]) and not any(
            ip in ipaddress.ip_network(e) for e in block.get("except", [])
        )
    if "ip" in endpoint:  # selectors match pods only
        return False
    if "namespaceSelector" in peer:
        if not _selects(peer["namespaceSelector"], endpoint["ns_labels"]):
            return False
    elif endpoint["ns"] != policy_ns:
        return False
    return "podSelector" not in peer or _selects(peer["podSelector"], endpoint["labels"])


def _port_matches(rule_ports, port: int, protocol: str) -> bool:
    if not rule_ports:
        return True
    for p in rule_ports:
        if p.get("protocol", "TCP") != protocol:
            continue
        if "port" not in p or p["port"] <= port <= p.get("endPort", p["port"]):
            return True
    return False


def allowed(objs, src: dict, dst: dict, port: int, protocol: str = "TCP") -> bool:
    """Would Kubernetes let src open port/protocol on dst, under the chart's NetworkPolicies?"""
    policies = [o for o in objs if o["kind"] == "NetworkPolicy"]

    def side(endpoint, direction, peer_key, other):
        if "ip" in endpoint:  # outside the cluster: not governed by these policies
            return True
        selecting = [
            p
            for p in policies
            if direction in p["spec"].get("policyTypes", [])
            and endpoint["ns"] == hr.NAMESPACE
            and _selects(p["spec"]["podSelector"], endpoint["labels"])
        ]
        if not selecting:
            return True
        for policy in selecting:
            for rule in policy["spec"].get(direction.lower(), []):
                peers = rule.get(peer_key)
                if (
                    peers is None or any(_peer_matches(q, hr.NAMESPACE, other) for q in peers)
                ) and _port_matches(rule.get("ports"), port, protocol):
                    return True
        return False

    return side(src, "Egress", "to", dst) and side(dst, "Ingress", "from", src)


def pod_of(objs, component: str) -> dict:
    labels = hr.find(objs, "Deployment", component)["spec"]["template"]["metadata"]["labels"]
    return {
        "ns": hr.NAMESPACE,
        "ns_labels": {"kubernetes.io/metadata.name": hr.NAMESPACE},
        "labels": labels,
    }


def pod_in(ns: str, **labels) -> dict:
    return {"ns": ns, "ns_labels": {"kubernetes.io/metadata.name": ns}, "labels": labels}


PBX = {"ip": "10.20.30.40"}
INTERNET = {"ip": "8.8.8.8"}
PROMETHEUS = pod_in("monitoring", app="prometheus")
KUBE_DNS = pod_in("kube-system", **{"k8s-app": "kube-dns"})


def test_network_policy_admits_the_pbx_and_prometheus_only(rendered):
    objs = rendered["gpu"]
    agent = pod_of(objs, "agent")
    low, high = values("gpu")["agent"]["rtp"]["portMin"], values("gpu")["agent"]["rtp"]["portMax"]
    assert allowed(objs, PBX, agent, 5060, "UDP")
    assert allowed(objs, PBX, agent, 5060, "TCP")
    assert allowed(objs, PBX, agent, low, "UDP") and allowed(objs, PBX, agent, high, "UDP")
    assert not allowed(objs, PBX, agent, high + 1, "UDP")
    assert allowed(objs, PBX, agent, 9092) and allowed(objs, PBX, agent, 8765)
    assert not allowed(objs, PBX, agent, 9090)  # metrics are Prometheus's
    assert not allowed(objs, INTERNET, agent, 5060, "UDP")
    assert allowed(objs, PROMETHEUS, agent, 9090)
    assert not allowed(objs, pod_in("other", app="x"), agent, 5060, "UDP")
    turn = pod_of(objs, "turn-server")
    assert allowed(objs, PROMETHEUS, turn, 8002)
    assert not allowed(objs, PROMETHEUS, turn, 8001)
    assert not allowed(objs, PBX, turn, 8001)


def test_network_policy_lets_the_agent_reach_only_what_it_needs(rendered):
    objs = rendered["gpu"]
    agent, turn = pod_of(objs, "agent"), pod_of(objs, "turn-server")
    nim = pod_in("nim", app="riva")
    assert allowed(objs, agent, turn, 8001)
    assert allowed(objs, agent, KUBE_DNS, 53, "UDP")
    assert allowed(objs, agent, nim, 50051)
    assert allowed(objs, agent, nim, 8000)
    assert not allowed(objs, agent, pod_in("other", app="riva"), 50051)  # NIMs live in "nim"
    assert not allowed(objs, agent, nim, 22)
    assert allowed(objs, agent, PBX, 16384, "UDP")  # RTP to the PBX's media port
    for port in (80, 443, 53):
        assert not allowed(objs, agent, INTERNET, port)
    assert not allowed(objs, turn, INTERNET, 443)
    assert not allowed(objs, turn, nim, 50051)
    assert not allowed(objs, turn, KUBE_DNS, 53, "UDP")


def test_network_policy_confines_the_stand_ins(rendered):
    objs = rendered["cpu-only"]
    agent = pod_of(objs, "agent")
    speech, llm = pod_of(objs, "speech-server"), pod_of(objs, "llm-server")
    assert allowed(objs, agent, speech, 50051)
    assert allowed(objs, agent, llm, 8000)
    assert not allowed(objs, PBX, speech, 50051)
    assert not allowed(objs, speech, INTERNET, 443)
    assert not allowed(objs, llm, INTERNET, 443)
    assert not allowed(objs, agent, pod_in("nim", app="riva"), 50051)  # no NIMs in this profile


def test_default_deny_covers_every_pod_of_the_release(rendered):
    for profile in PROFILES:
        objs = rendered[profile]
        deny = hr.find(objs, "NetworkPolicy", "default-deny")
        assert deny["spec"]["policyTypes"] == ["Ingress", "Egress"]
        assert "ingress" not in deny["spec"] and "egress" not in deny["spec"]
        for deployment in pods(objs):
            assert _selects(
                deny["spec"]["podSelector"], deployment["spec"]["template"]["metadata"]["labels"]
            )


# --- observability --------------------------------------------------------------------------


def test_servicemonitor_scrapes_the_agent_and_triton(rendered):
    objs = rendered["gpu"]
    monitor = hr.find(objs, "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    (endpoint,) = monitor["spec"]["endpoints"]
    assert (endpoint["port"], endpoint["path"]) == ("metrics", "/metrics")
    scraped = {
        svc["metadata"]["name"]: {p["name"]: p["port"] for p in svc["spec"]["ports"]}
        for svc in objs
        if svc["kind"] == "Service"
        and _selects(monitor["spec"]["selector"], svc["metadata"]["labels"])
    }
    assert scraped == {
        "sb-switchboard-agent-metrics": {"metrics": 9090},
        "sb-switchboard-turn-server": {"http": 8000, "grpc": 8001, "metrics": 8002},
    }


def test_grafana_dashboard_charts_the_metrics_the_code_exports(rendered):
    from pipeline.turn import metrics

    configmap = hr.find(rendered["default"], "ConfigMap", "dashboard")
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    dashboard = json.loads(configmap["data"]["switchboard.json"])
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    exprs = {p["title"]: " ".join(t["expr"] for t in p["targets"]) for p in panels}
    everything = " ".join(exprs.values())
    exported = [
        metrics.TURN_LATENCY,
        metrics.TURN_BATCH_SIZE,
        metrics.TURN_FALLBACKS,
        metrics.TURN_REQUESTS,
    ]
    for metric in exported:
        (family,) = metric.describe()
        assert family.name in everything, family.name
    latency = next(e for t, e in exprs.items() if "latency" in t.lower())
    assert "switchboard_turn_latency_seconds_bucket" in latency
    batch = next(e for t, e in exprs.items() if t.lower().startswith("turn batch size"))
    assert "switchboard_turn_batch_size_bucket" in batch
    for triton in (
        "nv_inference_queue_duration_us",
        "nv_inference_exec_count",
        "nv_gpu_utilization",
    ):
        assert triton in everything
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("profile", PROFILES)
def test_notes_tell_how_to_place_a_test_call(profile):
    text = hr.notes(profile)
    assert "sip:test@ADDRESS:5060" in text
    assert "sb-switchboard-agent" in text
    assert "switchboard_turn_requests_total" in text.replace("(requests|fallbacks)", "requests")


# --- values.schema.json ---------------------------------------------------------------------


def _rejected(overrides: dict, profile: str = "default") -> str:
    with pytest.raises(helm.HelmValuesError) as caught:
        hr.render(profile, overrides)
    return str(caught.value)


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        ({"agent": {"replicaCount": -1}}, "/agent/replicaCount"),
        ({"turnServer": {"replicaCount": -2}}, "/turnServer/replicaCount"),
        ({"standIns": {"speech": {"replicaCount": -1}}}, "/standIns/speech/replicaCount"),
    ],
)
def test_negative_replica_counts_are_rejected(overrides, path):
    message = _rejected(overrides)
    assert f"at '{path}': minimum: got -" in message, message


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        ({"nim": {"asr": {"server": ""}}}, "/nim/asr/server"),
        ({"nim": {"tts": {"server": ""}}}, "/nim/tts/server"),
        ({"nim": {"llm": {"baseUrl": ""}}}, "/nim/llm/baseUrl"),
    ],
)
def test_a_missing_nim_endpoint_is_rejected_when_the_stand_ins_are_off(overrides, path):
    message = _rejected(overrides)
    assert f"at '{path}': minLength: got 0, want 1" in message, message


def test_empty_nim_endpoints_are_fine_when_the_stand_ins_replace_them():
    objs = hr.render("cpu-only", {"nim": {"asr": {"server": ""}, "llm": {"baseUrl": ""}}})
    assert hr.find(objs, "Deployment", "speech-server")


def test_turning_a_stand_in_off_without_a_nim_endpoint_is_rejected():
    message = _rejected({"standIns": {"llm": {"enabled": False}}}, "cpu-only")
    assert "/nim/llm/baseUrl" in message and "/nim/asr/server" not in message, message


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"nim": {"asr": {"server": "riva-asr"}}}, "at '/nim/asr/server': '"),  # no port
        ({"nim": {"llm": {"baseUrl": "nim-llm:8000"}}}, "at '/nim/llm/baseUrl': '"),
        ({"agent": {"network": {"mode": "bridge"}}}, "at '/agent/network/mode'"),
        ({"agent": {"replicas": 3}}, "additional properties 'replicas' not allowed"),
        ({"agent": {"ports": {"sip": 70000}}}, "at '/agent/ports/sip': maximum"),
        ({"agent": {"resources": {"limits": {"memory": None}}}}, "missing property 'memory'"),
        ({"turnServer": {"gpu": {"count": -1}}}, "at '/turnServer/gpu/count': minimum"),
        ({"image": {"digest": "latest"}}, "at '/image/digest'"),
    ],
)
def test_other_bad_values_are_rejected_naming_the_key(overrides, expected):
    assert expected in _rejected(overrides)


def test_an_inverted_rtp_range_fails_the_render_with_a_readable_message():
    with pytest.raises(
        helm.HelmRenderError, match=r"agent.rtp.portMin \(10100\) must not be above"
    ):
        hr.render("default", {"agent": {"rtp": {"portMin": 10100, "portMax": 10000}}})
