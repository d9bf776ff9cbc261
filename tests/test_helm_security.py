"""helm/switchboard's security: locked-down pods, private registries, and the NetworkPolicies,
checked by evaluating who may reach whom (tests/helm_network.py).
"""

import helm_render as hr
import pytest
from helm_fixtures import PROFILES, pods, rendered_all, values
from helm_network import INTERNET, KUBE_DNS, PBX, PROMETHEUS, _selects, allowed, pod_in, pod_of


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict]]:
    return rendered_all()


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
