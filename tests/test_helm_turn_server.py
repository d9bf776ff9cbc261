"""helm/switchboard's turn server (GPU, autoscaled, disruption budgets) and the CPU stand-ins."""

import json

import helm_render as hr
import pytest
from helm_fixtures import rendered_all, settings_from_env, values


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict]]:
    return rendered_all()


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


def _stand_in(objs: list[dict], name: str, port: int) -> dict:
    """The container of Deployment `name`, checked to run `switchboard <name>` on 0.0.0.0:port."""
    container = hr.container(hr.find(objs, "Deployment", name))
    args = ["--host", "0.0.0.0", "--port", str(port)]
    assert container["command"] + container["args"] == ["switchboard", name, *args]
    return container


def test_cpu_only_runs_the_stand_ins_and_no_gpu_anything(rendered):
    objs = rendered["cpu-only"]
    speech = _stand_in(objs, "speech-server", 50051)
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert speech[probe]["grpc"] == {"port": 50051}
    _stand_in(objs, "llm-server", 8000)
    assert not [o for o in objs if o["metadata"]["name"].endswith("turn-server")]
    assert "nvidia.com/gpu" not in json.dumps(objs)


def test_the_speech_stand_in_starts_with_its_pools(rendered, monkeypatch):
    """Every setting the chart gives the speech server is one it knows (unknown ones stop it)."""
    settings = settings_from_env(
        hr.find(rendered["cpu-only"], "Deployment", "speech-server"), monkeypatch
    )
    speech = values("cpu-only")["standIns"]["speech"]
    assert settings.speech_server.max_streams == speech["maxStreams"]
    assert settings.speech_server.max_tts_streams == speech["maxTtsStreams"]
    assert settings.speech_server.asr_workers == speech["asrWorkers"]


def test_gpu_profiles_run_no_stand_ins(rendered):
    for profile in ("default", "gpu"):
        names = {obj["metadata"]["name"] for obj in rendered[profile]}
        assert not {n for n in names if n.endswith(("speech-server", "llm-server"))}
