"""The checks between keys of a config (only once each key is valid on its own), and the check that
a named theme exists."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ivcrush_tui.analytics.params import TIER_PROFILES
from ivcrush_tui.config.problems import Problems
from ivcrush_tui.config.schema import DEFAULTS
from ivcrush_tui.config.values import suggest
from ivcrush_tui.loopback import is_loopback

__all__ = ["check_theme", "cross_checks"]


def cross_checks(
    values: Mapping[str, Mapping[str, Any]], problems: Problems, warnings: list[str]
) -> None:
    """Constraints between keys (only when each key involved is valid on its own)."""

    def get(section: str, name: str) -> Any:
        section_values = values[section]
        if name in section_values:
            return section_values[name]
        return DEFAULTS[section][name]

    for provider, what in (("tradier", "token"), ("alphavantage", "API key")):
        parts = urlsplit(get(provider, "base_url"))
        if parts.scheme != "http" or is_loopback(parts.hostname or ""):
            continue
        if get(provider, "allow_insecure_http"):
            warnings.append(
                f"{provider}.base_url is plain http to {parts.hostname}: the {what} crosses the"
                " network in clear (allow_insecure_http = true)"
            )
        else:
            problems.add(
                f"{provider}.base_url",
                repr(f"http://{parts.netloc}"),
                f"plain http to a host other than this machine would send the {what} in clear;"
                f" use https (or set {provider}.allow_insecure_http = true)",
            )

    a = "analysis"
    profile = get(a, "profile")
    base = TIER_PROFILES.get(profile, TIER_PROFILES["balanced"])
    exc = get(a, "excellent") or base.excellent
    good = get(a, "good") or base.good
    marg = get(a, "marginal") or base.marginal
    if any(values[a].get(k) is not None for k in ("excellent", "good", "marginal")) and not (
        exc >= good >= marg
    ):
        problems.add(
            "analysis.excellent",
            f"{exc!r}/{good!r}/{marg!r}",
            "tier thresholds must satisfy excellent >= good >= marginal"
            f" (missing ones come from the {profile!r} profile)",
        )
    if get(a, "min_events") > get(a, "max_events"):
        problems.add(
            "analysis.min_events", repr(get(a, "min_events")), "must be <= analysis.max_events"
        )
    if get("engine", "history_quarters") < get(a, "min_events"):
        problems.add(
            "engine.history_quarters",
            repr(get("engine", "history_quarters")),
            "must be >= analysis.min_events (else no ticker ever has enough history)",
        )
    if get("serve", "scan_interval_s") > get("serve", "idle_interval_s"):
        problems.add(
            "serve.scan_interval_s",
            repr(get("serve", "scan_interval_s")),
            "must be <= serve.idle_interval_s (the entry window is scanned more often)",
        )
    r = "resilience"
    if get(r, "backoff_base_s") > get(r, "backoff_max_s"):
        problems.add(
            "resilience.backoff_base_s",
            repr(get(r, "backoff_base_s")),
            "must be <= resilience.backoff_max_s",
        )


def check_theme(theme: object, env: Mapping[str, str], problems: Problems) -> None:
    """`ui.theme`, when given, must name a theme that exists (a shipped or user theme file, or a
    Textual theme the console offers): a typo used to fall back to the default theme in silence.
    Checked only when set, and without Textual (theme_names), so a command's start stays cheap."""
    if not isinstance(theme, str):
        return
    from ivcrush_tui.theme_names import THEMES_ENV, known_theme_names

    known = known_theme_names(env)
    if theme in known:
        return
    problems.add(
        "ui.theme",
        repr(theme),
        "unknown theme" + suggest(theme, sorted(known)) + f"; themes: {', '.join(sorted(known))}"
        f" (theme files go in the user themes folder or ${THEMES_ENV})",
    )
