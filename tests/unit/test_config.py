from __future__ import annotations

from pathlib import Path

import pytest

from signalgraph.config import describe_settings, load_settings, mask_url
from signalgraph.errors import ConfigError


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_defaults_apply_without_any_configuration() -> None:
    settings = load_settings()
    assert settings.database_url is None
    assert settings.uses_embedded
    assert settings.workspace == "default"
    assert settings.pool_size == 5


def test_precedence_is_flag_then_env_then_file_then_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write(
        tmp_path / "signalgraph.toml",
        'workspace = "from-file"\npool_size = 3\nmax_overflow = 4\nconnect_timeout = 7\n',
    )
    monkeypatch.setenv("SIGNALGRAPH_WORKSPACE", "from-env")
    monkeypatch.setenv("SIGNALGRAPH_POOL_SIZE", "9")
    settings = load_settings(config, workspace="from-flag")
    assert settings.workspace == "from-flag"
    assert settings.pool_size == 9
    assert settings.max_overflow == 4
    assert settings.pool_recycle == 1800
    origins = {row["name"]: row["origin"] for row in describe_settings(settings)}
    assert origins["workspace"] == "flag"
    assert origins["pool_size"] == "env SIGNALGRAPH_POOL_SIZE"
    assert origins["max_overflow"] == f"file {config}"
    assert origins["pool_recycle"] == "default"


def test_config_file_is_found_in_the_working_directory() -> None:
    write(Path.cwd() / "signalgraph.toml", "pool_size = 11\n")
    assert load_settings().pool_size == 11


def test_config_file_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = write(tmp_path / "other.toml", "pool_size = 12\n")
    monkeypatch.setenv("SIGNALGRAPH_CONFIG", str(config))
    assert load_settings().pool_size == 12


def test_unknown_setting_in_file_is_named(tmp_path: Path) -> None:
    config = write(tmp_path / "signalgraph.toml", "pool_sise = 3\n")
    with pytest.raises(ConfigError, match=r"unknown setting 'pool_sise' in .*signalgraph.toml"):
        load_settings(config)


def test_invalid_toml_is_reported_with_the_file(tmp_path: Path) -> None:
    config = write(tmp_path / "signalgraph.toml", "pool_size = = 3\n")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_settings(config)


def test_invalid_value_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGNALGRAPH_POOL_SIZE", "lots")
    with pytest.raises(ConfigError, match="setting 'pool_size'"):
        load_settings()


def test_missing_explicit_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_secrets_are_masked_when_described() -> None:
    settings = load_settings(database_url="postgresql://alice:s3cret@db.example:5432/sg")
    shown = {row["name"]: row["value"] for row in describe_settings(settings)}
    assert "s3cret" not in str(shown["database_url"])
    assert shown["database_url"] == "postgresql://alice:***@db.example:5432/sg"


def test_mask_url_leaves_passwordless_urls_alone() -> None:
    assert mask_url("postgresql://bob@localhost/sg") == "postgresql://bob@localhost/sg"


def test_blank_database_url_means_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGNALGRAPH_DATABASE_URL", "  ")
    assert load_settings().uses_embedded


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://al:pw@h:5432/sg", "postgresql://al:***@h:5432/sg"),
        ("postgresql://al@h/sg?password=pw&x=1", "postgresql://al@h/sg?password=***&x=1"),
        ("postgresql://al@h/sg?sslpassword=pw", "postgresql://al@h/sg?sslpassword=***"),
        ("postgresql://al:p%2Fw%40x@h/sg", "postgresql://al:***@h/sg"),
        ("postgresql://al:a/b?c#d@h/sg", "postgresql://al:***@h/sg"),
        ("postgresql://al:x@pw@h/sg", "<unparseable URL, not shown>"),
        ("postgresql://al:pw/sg", "<unparseable URL, not shown>"),
        ("postgres ql://al:pw@h/sg", "<unparseable URL, not shown>"),
    ],
)
def test_mask_url_hides_every_password_and_every_unparseable_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_settings_repr_and_str_mask_the_database_url() -> None:
    settings = load_settings(database_url="postgresql://al:s3cret@h/sg?password=s3cret")
    for shown in (repr(settings), str(settings)):
        assert "s3cret" not in shown
        assert "postgresql://al:***@h/sg?password=***" in shown
    assert settings.database_url == "postgresql://al:s3cret@h/sg?password=s3cret"


def test_an_invalid_setting_is_reported_without_its_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGNALGRAPH_POOL_SIZE", "s3cret")
    with pytest.raises(ConfigError) as raised:
        load_settings()
    assert "s3cret" not in str(raised.value)
    assert "s3cret" not in str(raised.value.__cause__)


def test_a_statement_timeout_beyond_an_int4_is_an_invalid_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SIGNALGRAPH_STATEMENT_TIMEOUT_MS", str(2**31))
    with pytest.raises(ConfigError, match="setting 'statement_timeout_ms'"):
        load_settings()
    monkeypatch.setenv("SIGNALGRAPH_STATEMENT_TIMEOUT_MS", str(2**31 - 1))
    assert load_settings().statement_timeout_ms == 2**31 - 1
