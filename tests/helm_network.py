"""A small NetworkPolicy evaluator for the Helm chart tests: who may reach whom.

In: the rendered objects, a source and a destination (a pod, or an outside IP), a port.
Out: whether Kubernetes would let the connection through under the chart's NetworkPolicies.
"""

import ipaddress

import helm_render as hr


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
