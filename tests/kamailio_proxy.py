"""Kamailio in front of agents on loopback, run from the chart's own rendered files.

In: the agents' addresses (host:port), a folder, the PBX's address. Out: a running Kamailio
(`KamailioProxy`: its port, log, stop()). The chart is rendered with Helm's engine
(tests/helm_render.py) with sipProxy on: its ConfigMap's kamailio.cfg and discover.sh are
written to the folder, discover.sh --once writes the dispatcher list with the environment the
chart gives its init container (the agents as sipProxy.staticAgents), and Kamailio starts with
the command line of the chart's Deployment, the pod's IP being 127.0.0.1. What runs here is
what the chart deploys.
"""

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import helm_render as hr
from sip_echo_process import stop_process

CONFIG_DIR = "/etc/switchboard-sip-proxy"
# sipp options for calls through the proxy. A late 180 is no fault: Kamailio's children relay
# an agent's 180 and its 200, sent back to back, in parallel, so the 180 may arrive second;
# sipp lets it pass instead of aborting the call (its default, abortunexp).
LATE_180_OK = ("-default_behaviors", "all,-abortunexp")


@dataclass
class KamailioProxy:
    process: subprocess.Popen
    port: int
    folder: Path

    def log(self) -> str:
        return (self.folder / "kamailio.log").read_text(errors="replace")

    def dispatcher_list(self) -> str:
        return (self.folder / "dispatcher.list").read_text()

    def stop(self) -> None:
        stop_process(self.process)


def proxy_values(port: int, folder: Path, agents: list[str], pbx: str) -> dict:
    """The chart values of a proxy on 127.0.0.1:`port` for `agents`, taking calls from `pbx`."""
    return {
        "sipProxy": {
            "enabled": True,
            "port": port,
            "recordRouteAddress": "127.0.0.1",
            "runDir": str(folder),
            "staticAgents": agents,
            "allowedPeers": [f"{pbx}/32"],
            "podNetworks": ["127.0.0.0/8"],
            "logLevel": 1,
            "children": 2,
        }
    }


def rendered_proxy(values: dict) -> tuple[dict, dict]:
    """(ConfigMap, Deployment) of the chart's SIP proxy for `values` over the default profile."""
    objects = hr.render("default", values)
    return hr.find(objects, "ConfigMap", "sip-proxy"), hr.find(objects, "Deployment", "sip-proxy")


def start_kamailio(folder: Path, port: int, agents: list[str], pbx: str = "127.0.0.1"):
    """Kamailio as the chart runs it, on 127.0.0.1:`port`, once it answers OPTIONS."""
    config, deployment = rendered_proxy(proxy_values(port, folder, agents, pbx))
    for name, text in config["data"].items():
        (folder / name).write_text(text)
    pod = deployment["spec"]["template"]["spec"]
    (init,) = pod["initContainers"]
    env = {e["name"]: e["value"] for e in init["env"]}
    script = [part.replace(CONFIG_DIR, str(folder)) for part in init["command"]]
    subprocess.run(script, env={**os.environ, **env}, check=True, timeout=10)
    kamailio = next(c for c in pod["containers"] if c["name"] == "kamailio")
    command = [
        part.replace("$(POD_IP)", "127.0.0.1").replace(CONFIG_DIR, str(folder))
        for part in kamailio["command"] + kamailio["args"]
    ]
    log = (folder / "kamailio.log").open("w")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=folder)
    proxy = KamailioProxy(process, port, folder)
    deadline = time.monotonic() + 10
    while not (folder / "kamailio_ctl").exists():
        if process.poll() is not None or time.monotonic() > deadline:
            proxy.stop()
            raise RuntimeError(f"kamailio did not start:\n{proxy.log()[-3000:]}")
        time.sleep(0.1)
    return proxy


def agent_states(proxy: KamailioProxy) -> dict[str, str]:
    """The dispatcher's view of each agent (`kamcmd dispatcher.list`): URI -> flags, where
    "AP" is active and "IP" inactive (probing)."""
    socket = f"unix:{proxy.folder / 'kamailio_ctl'}"
    out = subprocess.run(
        ["kamcmd", "-s", socket, "dispatcher.list"], capture_output=True, text=True, timeout=5
    ).stdout
    states, uri = {}, ""
    for line in out.splitlines():
        key, _, value = line.strip().partition(":")
        if key == "URI":
            uri = value.strip()
        elif key == "FLAGS" and uri:
            states[uri] = value.strip()
    return states
