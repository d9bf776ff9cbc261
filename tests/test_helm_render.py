"""helm/switchboard, rendered by Helm's own engine (helm-python-sdk) for each shipped profile.

Checks: `helm lint --strict`; every object against the Kubernetes API's JSON schemas for the
oldest and newest Kubernetes the chart supports (kubernetes-validate ships them: offline);
values.schema.json rejecting bad values with a message that names the key.
"""

import json
import re

import helm_python as helm
import helm_render as hr
import jsonschema
import kubernetes_validate
import pytest
import yaml
from helm_fixtures import PROFILES, rendered_all

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
    return rendered_all()


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
