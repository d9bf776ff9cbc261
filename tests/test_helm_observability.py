"""helm/switchboard's observability: the ServiceMonitor, the Grafana dashboard, the NOTES."""

import json

import helm_render as hr
import pytest
from helm_fixtures import PROFILES, rendered_all
from helm_network import _selects


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict]]:
    return rendered_all()


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


def _exported(*modules: object) -> list[str]:
    """The names of the Prometheus metrics that `modules` define."""
    from prometheus_client.metrics import MetricWrapperBase

    return [
        metric.describe()[0].name
        for module in modules
        for metric in vars(module).values()
        if isinstance(metric, MetricWrapperBase)
    ]


def test_grafana_dashboard_charts_the_metrics_the_code_exports(rendered):
    from pipeline.agent import metrics as agent_metrics
    from pipeline.turn import metrics

    configmap = hr.find(rendered["default"], "ConfigMap", "dashboard")
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    dashboard = json.loads(configmap["data"]["switchboard.json"])
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    exprs = {p["title"]: " ".join(t["expr"] for t in p["targets"]) for p in panels}
    everything = " ".join(exprs.values())
    exported = _exported(metrics, agent_metrics)
    assert len(exported) >= 13, exported  # the introspection found them all
    for name in exported:
        assert name in everything, name
    lag = next(e for t, e in exprs.items() if "frame lag" in t.lower())
    assert "switchboard_agent_frame_lag_seconds_bucket" in lag
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
