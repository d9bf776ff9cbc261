"""Render helm/switchboard with Helm's own engine (the `helm-python-sdk` wheel), offline.

In: values files of the chart (layered like `helm install -f a.yaml -f b.yaml`) and overrides.
Out: the rendered Kubernetes objects as dicts, or Helm's own error (schema, template `fail`).
No cluster and no network are involved.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

CHART_DIR = Path(__file__).resolve().parent.parent / "helm" / "switchboard"
RELEASE = "sb"
NAMESPACE = "voice"

# The profiles the chart ships, as the values files layered on top of values.yaml.
PROFILES: dict[str, tuple[str, ...]] = {
    "default": (),
    "gpu": ("values-gpu.yaml",),
    "cpu-only": ("values-cpu-only.yaml",),
}

# What every site adds to a profile (docs/deploy.md's site.yaml): the PBX networks that may
# call. The chart ships none and refuses to render without them.
SITE: dict[str, Any] = {
    "networkPolicy": {"pbx": {"peers": [{"ipBlock": {"cidr": "10.20.30.0/24"}}]}}
}


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Helm's coalescing of values: maps merge key by key, anything else is replaced."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def profile_values(profile: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The values a user passes for a profile (`-f` files, the site's, then overrides)."""
    values: dict[str, Any] = {}
    for name in PROFILES[profile]:
        values = deep_merge(values, yaml.safe_load((CHART_DIR / name).read_text()) or {})
    return deep_merge(deep_merge(values, SITE), overrides or {})


def render_manifests(values: dict[str, Any]) -> dict[str, str]:
    """Template path -> rendered text, exactly as `helm install` would render it.

    Raises helm_python.HelmValuesError (values.schema.json) or HelmRenderError (a template).
    """
    with helm.Chart.load(CHART_DIR) as chart:
        return chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)


def objects(manifests: dict[str, str]) -> list[dict[str, Any]]:
    """Every Kubernetes object in the rendered templates (NOTES.txt is not one)."""
    found = []
    for path, text in sorted(manifests.items()):
        if path.endswith("NOTES.txt"):
            continue
        found.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return found


def render(profile: str, overrides: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return objects(render_manifests(profile_values(profile, overrides)))


def notes(profile: str, overrides: dict[str, Any] | None = None) -> str:
    manifests = render_manifests(profile_values(profile, overrides))
    return next(text for path, text in manifests.items() if path.endswith("NOTES.txt"))


def lint(profile: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """`helm lint --strict` with the profile's values."""
    return helm.lint(CHART_DIR, profile_values(profile, overrides), strict=True)


def find(objs: Iterable[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    """The one object of `kind` (and `name`, full or as the component suffix)."""
    matches = [
        obj
        for obj in objs
        if obj["kind"] == kind
        and (
            name is None
            or obj["metadata"]["name"] == name
            or obj["metadata"]["name"].endswith(f"-{name}")
        )
    ]
    if len(matches) != 1:
        raise LookupError(f"expected one {kind} {name or ''}, found {len(matches)}")
    return matches[0]


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    """The single container of a Deployment's pod."""
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    return only


def env(deployment: dict[str, Any]) -> dict[str, Any]:
    """A Deployment's container env as {name: value, or the valueFrom dict}."""
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container(deployment)["env"]}
