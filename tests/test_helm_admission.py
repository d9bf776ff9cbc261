"""helm/switchboard: who may call an agent, and where its secrets come from.

The chart ships no PBX networks: it refuses to render until the operator names them, and gives
the agent those networks as its allow-list. Passwords and tokens reach the pod only as
secretKeyRef env, never as plain values.
"""

import helm_python as helm
import helm_render as hr
import pytest
from helm_fixtures import PROFILES, settings_from_env
from helm_network import PBX, allowed, pod_in, pod_of

NO_PEERS = {"networkPolicy": {"pbx": {"peers": []}}}
SECRET_ENV = ("SWITCHBOARD_AGENT__SIP_AUTH_PASSWORD", "SWITCHBOARD_AGENT__WEBSOCKET_TOKEN")


def _agent(overrides: dict, profile: str = "default") -> dict:
    return hr.find(hr.render(profile, overrides), "Deployment", "agent")


def _refused(overrides: dict, profile: str = "default") -> str:
    with pytest.raises(helm.HelmRenderError) as caught:
        hr.render(profile, overrides)
    return str(caught.value)


# --- who may call ---------------------------------------------------------------------------


@pytest.mark.parametrize("profile", PROFILES)
def test_a_profile_without_the_sites_pbx_networks_refuses_to_render(profile):
    assert "networkPolicy.pbx.peers is empty" in _refused(NO_PEERS, profile)


def test_the_agent_admits_only_the_pbx_address_blocks(monkeypatch):
    peers = [
        {"ipBlock": {"cidr": "10.40.1.10/32"}},
        {"ipBlock": {"cidr": "10.40.2.0/28", "except": ["10.40.2.8/29"]}},
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "pbx"}}},
    ]
    objs = hr.render("gpu", {"networkPolicy": {"pbx": {"peers": peers}}})
    settings = settings_from_env(hr.find(objs, "Deployment", "agent"), monkeypatch)
    assert [str(net) for net in settings.agent.allowed_peers] == ["10.40.1.10/32", "10.40.2.0/28"]
    assert settings.agent.sip_allowed_peers is None  # the deprecated name is not rendered
    assert settings.agent.max_calls == 20
    agent = pod_of(objs, "agent")
    assert allowed(objs, {"ip": "10.40.1.10"}, agent, 5060, "UDP")
    # Nothing else of RFC 1918, the pod network included, reaches the call ports.
    for stranger in ({"ip": "10.40.1.11"}, {"ip": "192.168.1.5"}, PBX):
        assert not allowed(objs, stranger, agent, 5060, "UDP")
        assert not allowed(objs, stranger, agent, 9092)
    assert not allowed(objs, pod_in(hr.NAMESPACE, app="anything"), agent, 8765)


def test_selector_peers_alone_give_the_agent_no_addresses_and_refuse_to_render():
    peers = [{"podSelector": {"matchLabels": {"app": "asterisk"}}}]
    message = _refused({"networkPolicy": {"pbx": {"peers": peers}}})
    assert "the agent would admit no caller" in message and "agent.allowedPeers" in message


def test_allowed_peers_and_max_calls_are_named_directly(monkeypatch):
    overrides = {
        "networkPolicy": {"pbx": {"peers": [{"podSelector": {"matchLabels": {"app": "pbx"}}}]}},
        "agent": {"allowedPeers": ["10.244.7.0/24", "fd00:40::/64"], "maxCalls": 12},
    }
    settings = settings_from_env(_agent(overrides), monkeypatch)
    assert [str(net) for net in settings.agent.allowed_peers] == ["10.244.7.0/24", "fd00:40::/64"]
    assert settings.agent.max_calls == 12


def test_without_network_policy_the_agent_still_needs_its_peers(monkeypatch):
    off = {"networkPolicy": {"enabled": False, "pbx": {"peers": []}}}
    assert "the agent would admit no caller" in _refused(off)
    named = hr.deep_merge(off, {"agent": {"allowedPeers": ["10.40.1.10/32"]}})
    settings = settings_from_env(_agent(named), monkeypatch)
    assert [str(net) for net in settings.agent.allowed_peers] == ["10.40.1.10/32"]


@pytest.mark.parametrize(
    ("old", "new"),
    [("sip_max_calls", "agent.maxCalls"), ("sip_allowed_peers", "agent.allowedPeers")],
)
def test_deprecated_sip_names_in_settings_are_refused(old, new):
    message = _refused({"agent": {"settings": {"agent": {old: "5"}}}})
    assert f"agent.settings.agent.{old} is deprecated" in message and new in message


@pytest.mark.parametrize("cidr", ["10.0.0.0/33", "pbx.example", "10.0.0/8", ""])
def test_a_malformed_network_is_rejected_naming_the_key(cidr):
    with pytest.raises(helm.HelmValuesError, match="at '/agent/allowedPeers/0'"):
        hr.render("default", {"agent": {"allowedPeers": [cidr]}})


# --- secrets --------------------------------------------------------------------------------


def test_sip_password_websocket_token_and_llm_key_come_from_secrets(monkeypatch):
    overrides = {
        "agent": {
            "sipAuth": {"user": "pbx-trunk", "passwordSecret": {"name": "sb-sip"}},
            "websocketTokenSecret": {"name": "sb-ws", "key": "token"},
        },
        "nim": {"llm": {"apiKeySecret": {"name": "nim-key"}}},
    }
    deployment = _agent(overrides)
    env = hr.env(deployment)
    assert env["SWITCHBOARD_AGENT__SIP_AUTH_PASSWORD"] == {
        "secretKeyRef": {"name": "sb-sip", "key": "sip-auth-password"}
    }
    assert env["SWITCHBOARD_AGENT__WEBSOCKET_TOKEN"] == {
        "secretKeyRef": {"name": "sb-ws", "key": "token"}
    }
    assert env["SWITCHBOARD_LLM__API_KEY"] == {
        "secretKeyRef": {"name": "nim-key", "key": "api-key"}
    }
    assert settings_from_env(deployment, monkeypatch).agent.sip_auth_user == "pbx-trunk"


def test_no_secret_env_without_a_secret():
    env = hr.env(_agent({}))
    assert (
        not {*SECRET_ENV, "SWITCHBOARD_AGENT__SIP_AUTH_USER", "SWITCHBOARD_LLM__API_KEY"}
        & env.keys()
    )


@pytest.mark.parametrize(
    ("overrides", "where"),
    [
        ({"agent": {"settings": {"agent": {"sip_auth_password": "s3cret"}}}}, "agent.sipAuth"),
        ({"agent": {"settings": {"agent": {"websocket_token": "t0ken"}}}}, "websocketTokenSecret"),
        ({"agent": {"settings": {"llm": {"api_key": "k3y"}}}}, "nim.llm.apiKeySecret"),
        (
            {"agent": {"extraEnv": [{"name": SECRET_ENV[0], "value": "s3cret"}]}},
            "agent.sipAuth.passwordSecret",
        ),
    ],
)
def test_a_secret_as_a_plain_value_is_refused(overrides, where):
    message = _refused(overrides)
    assert "as plain text" in message and where in message, message


def test_extra_env_may_take_a_secret_from_a_secret():
    ref = {"secretKeyRef": {"name": "own", "key": "token"}}
    extra = [{"name": SECRET_ENV[1], "valueFrom": ref}]
    assert hr.env(_agent({"agent": {"extraEnv": extra}}))[SECRET_ENV[1]] == ref


@pytest.mark.parametrize(
    ("sip_auth", "expected"),
    [
        ({"user": "pbx"}, "needs its password"),
        ({"passwordSecret": {"name": "sb-sip"}}, "agent.sipAuth.user is empty"),
    ],
)
def test_half_configured_digest_is_refused(sip_auth, expected):
    assert expected in _refused({"agent": {"sipAuth": sip_auth}})
