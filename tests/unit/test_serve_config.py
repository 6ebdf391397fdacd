"""The [serve] config section: defaults, ranges and the cross-check between its intervals."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivcrush_tui.config import ConfigError, ServeSettings, load_settings


def _load(tmp_path: Path, text: str) -> ServeSettings:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return load_settings(path, {}).serve


def test_defaults_scan_every_minute_in_the_window_and_hourly_outside() -> None:
    serve = load_settings(None, {}).serve
    assert (serve.scan_interval_s, serve.idle_interval_s) == (60.0, 3600.0)


def test_a_valid_section_is_read(tmp_path: Path) -> None:
    serve = _load(tmp_path, "[serve]\nscan_interval_s = 30\nidle_interval_s = 900\n")
    assert (serve.scan_interval_s, serve.idle_interval_s) == (30.0, 900.0)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[serve]\nscan_interval_s = 1\n", "serve.scan_interval_s"),  # below 5 s: hammering
        ("[serve]\nscan_interval_s = -60\n", "serve.scan_interval_s"),
        ("[serve]\nidle_interval_s = 10\n", "serve.idle_interval_s"),
        ("[serve]\nscan_interval_s = 'often'\n", "serve.scan_interval_s"),
        ("[serve]\nscan_interval_s = 600\nidle_interval_s = 300\n", "serve.scan_interval_s"),
        ("[serve]\nscan_every = 60\n", "serve.scan_every"),
    ],
)
def test_bad_values_are_configuration_errors(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, text)
    assert key in {p.key_path for p in err.value.problems}
