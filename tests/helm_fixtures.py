"""What the Helm chart tests share: the shipped profiles, each rendered once, and their values."""

import functools

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
