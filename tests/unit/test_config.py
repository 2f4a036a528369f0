from __future__ import annotations

from pathlib import Path

import pytest

from acas_batch.config import load_settings, normalise_database_url
from acas_batch.errors import ConfigError


def test_defaults_use_sqlite_in_var() -> None:
    settings = load_settings(environ={})
    assert settings.database_url == "sqlite:///var/acas.db"
    assert settings.is_sqlite
    assert settings.timezone == "Europe/London"
    assert settings.outputs == Path("var") / "output"


def test_environment_overrides_defaults_and_postgres_gets_psycopg() -> None:
    settings = load_settings(environ={"ACAS_DATABASE_URL": "postgresql://u@db.example:5432/acas", "ACAS_WORKERS": "4"})
    assert settings.database_url == "postgresql+psycopg://u@db.example:5432/acas"
    assert settings.workers == 4
    assert not settings.is_sqlite


def test_toml_file_then_env_then_overrides(tmp_path: Path) -> None:
    cfg = tmp_path / "acas.toml"
    cfg.write_text('[acas]\nworkers = 3\nhttp_port = 9000\ntimezone = "Europe/Dublin"\n')
    settings = load_settings(cfg, environ={"ACAS_HTTP_PORT": "9100"}, workers=5)
    assert (settings.workers, settings.http_port, settings.timezone) == (5, 9100, "Europe/Dublin")


def test_bad_url_scheme_says_what_is_accepted() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(environ={"ACAS_DATABASE_URL": "foo://"})
    message = str(info.value)
    assert "ACAS_DATABASE_URL" in message
    assert "'foo'" in message
    assert "sqlite:///" in message and "postgresql+psycopg://" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("sqlite://relative.db", "three slashes"),
        ("postgresql:///nohost", "names no host"),
        ("no-scheme-at-all", "malformed"),
        ("mysql://root@localhost/db", "'mysql' is not supported"),
    ],
)
def test_malformed_urls_are_refused(url: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        normalise_database_url(url)


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.toml", environ={})


def test_invalid_toml_is_a_clear_error(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("workers = = 3\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(cfg, environ={})


def test_unknown_setting_and_bad_values_are_named(tmp_path: Path) -> None:
    cfg = tmp_path / "acas.toml"
    cfg.write_text('wrkers = 3\ntimezone = "Mars/Olympus"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(cfg, environ={"ACAS_HTTP_PORT": "70000"})
    message = str(info.value)
    assert "wrkers" in message and "unknown setting" in message
    assert "Mars/Olympus" in message
    assert "http_port (ACAS_HTTP_PORT)" in message


def test_config_file_named_by_environment(tmp_path: Path) -> None:
    cfg = tmp_path / "acas.toml"
    cfg.write_text("lease_seconds = 30\n")
    assert load_settings(environ={"ACAS_CONFIG": str(cfg)}).lease_seconds == 30
