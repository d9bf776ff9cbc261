"""What the Helm chart tests share: the shipped profiles, each rendered once, their values, and
the switchboard settings a rendered Deployment's env gives its process."""

import functools
import os

import helm_render as hr
import yaml

PROFILES = list(hr.PROFILES)


@functools.cache
def rendered_all() -> dict[str, list[dict]]:
    """Every shipped profile, rendered once per test session (read it, never change it)."""
    return {profile: hr.render(profile) for profile in PROFILES}


def values(profile: str) -> dict:
    """The values Helm would use for a profile: the chart's defaults under the profile's file."""
    defaults = yaml.safe_load((hr.CHART_DIR / "values.yaml").read_text())
    return hr.deep_merge(defaults, hr.profile_values(profile))


def pods(objs: list[dict]) -> list[dict]:
    return [obj for obj in objs if obj["kind"] == "Deployment"]


def settings_from_env(deployment: dict, monkeypatch):
    """pipeline.settings loaded from the Deployment's plain SWITCHBOARD_* env, as the pod would
    (values from Secrets are left out)."""
    from pipeline.settings import ENV_PREFIX, load_settings

    for name in [n for n in os.environ if n.startswith(ENV_PREFIX)]:
        monkeypatch.delenv(name)
    for name, value in hr.env(deployment).items():
        if name.startswith(ENV_PREFIX) and isinstance(value, str):
            monkeypatch.setenv(name, value)
    return load_settings()
