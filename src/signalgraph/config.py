"""Settings: flags > environment (SIGNALGRAPH_*) > config file (signalgraph.toml) > defaults."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import platformdirs
from pydantic import Field, PrivateAttr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from signalgraph.bounds import BATCH_SIZE, STATEMENT_TIMEOUT_MS
from signalgraph.errors import ConfigError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

ENV_PREFIX = "SIGNALGRAPH_"
CONFIG_FILE_NAME = "signalgraph.toml"
CONFIG_ENV = "SIGNALGRAPH_CONFIG"


def default_home() -> Path:
    """Return the platform's user data directory for signalgraph."""
    return Path(platformdirs.user_data_dir("signalgraph", appauthor=False))


class Settings(BaseSettings):
    """The effective configuration of one signalgraph process."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="forbid",
        validate_default=True,
        # A rejected value may be a database URL with its password: never quote it.
        hide_input_in_errors=True,
    )

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL; when unset, the embedded server under `home` is used.",
    )
    home: Path = Field(
        default_factory=default_home,
        description="Where signalgraph keeps its embedded server and local state.",
    )
    workspace: str = Field(default="default", description="Workspace used when none is given.")
    actor: str | None = Field(
        default=None, description="Who is acting, recorded with decisions (default: OS user)."
    )
    pool_size: int = Field(default=5, ge=1, le=1000, description="Connections kept in the pool.")
    max_overflow: int = Field(
        default=10, ge=0, le=1000, description="Extra connections allowed above pool_size."
    )
    pool_recycle: int = Field(
        default=1800, ge=-1, description="Seconds after which a pooled connection is replaced."
    )
    pool_pre_ping: bool = Field(
        default=True, description="Check a pooled connection is alive before using it."
    )
    pool_timeout: float = Field(
        default=30.0, gt=0, description="Seconds to wait for a free pooled connection."
    )
    connect_timeout: int = Field(
        default=10, ge=1, le=600, description="Seconds to wait when opening a connection."
    )
    statement_timeout_ms: int = Field(
        default=0,
        ge=0,
        le=STATEMENT_TIMEOUT_MS[1],
        description="Per-statement time limit in milliseconds (0: none).",
    )
    application_name: str = Field(
        default="signalgraph", description="Name shown in pg_stat_activity."
    )
    batch_size: int = Field(
        default=5000,
        ge=BATCH_SIZE[0],
        le=BATCH_SIZE[1],
        description="Records written per transaction.",
    )
    batch_max_bytes: int = Field(
        default=16 << 20, ge=1 << 16, description="Input bytes after which a batch is written."
    )
    max_field_bytes: int = Field(
        default=1 << 20, ge=1024, description="Largest text field accepted, in bytes."
    )
    max_record_bytes: int = Field(
        default=8 << 20, ge=1024, description="Largest input record (one line or row), in bytes."
    )
    ingest_workers: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description="Connections an ingest writes batches over (default: the cores available, "
        "at most ingest_workers_max).",
    )
    ingest_workers_max: int = Field(
        default=4, ge=1, le=64, description="Most connections an ingest uses by default."
    )
    nul_policy: str = Field(
        default="reject",
        pattern="^(reject|strip)$",
        description="NUL characters in input: reject the record, or strip them.",
    )
    near_duplicate_distance: int = Field(
        default=3, ge=0, le=3, description="Largest simhash Hamming distance of a near duplicate."
    )
    near_duplicate_min_tokens: int = Field(
        default=32, ge=2, description="Fewest words a text needs before near duplicates are sought."
    )
    partition_future_years: int = Field(
        default=5, ge=0, le=100, description="Years ahead ingest creates monthly partitions for."
    )
    resolve_link_threshold: float = Field(
        default=0.95, gt=0, lt=1, description="Match probability at and above which to link."
    )
    resolve_review_threshold: float = Field(
        default=0.5, gt=0, lt=1, description="Match probability at and above which to review."
    )
    run_stale_after: int = Field(
        default=120,
        ge=5,
        description="Seconds without a heartbeat after which a running run is abandoned.",
    )

    _config_file: Path | None = PrivateAttr(default=None)
    _flags: frozenset[str] = PrivateAttr(default=frozenset())
    _file_keys: frozenset[str] = PrivateAttr(default=frozenset())

    @field_validator("database_url")
    @classmethod
    def _blank_url_is_none(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            return None
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Order the sources: flags, environment, then the TOML file."""
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """Yield the fields shown by repr() and str(), passwords masked."""
        for name, value in super().__repr_args__():
            secret = name in SECRET_FIELDS and isinstance(value, str)
            yield name, mask_url(value) if secret else value

    def origin_of(self, name: str) -> str:
        """Return where a setting's value came from: flag, env VAR, file PATH or default."""
        if name in self._flags:
            return "flag"
        variable = f"{ENV_PREFIX}{name.upper()}"
        if variable in os.environ:
            return f"env {variable}"
        if name in self._file_keys:
            return f"file {self._config_file}"
        return "default"

    @property
    def effective_actor(self) -> str:
        """Return who is acting: the configured actor, else the operating-system user."""
        if self.actor:
            return self.actor
        import getpass

        try:
            return getpass.getuser()
        except (KeyError, OSError):  # no user name in containers without a passwd entry
            return "unknown"

    @property
    def uses_embedded(self) -> bool:
        """Return True when no database URL is configured."""
        return self.database_url is None

    @property
    def config_file(self) -> Path | None:
        """Return the config file these settings were read from, if any."""
        return self._config_file

    @property
    def pgdata(self) -> Path:
        """Return the embedded server's data directory."""
        return self.home / "pgdata"


SECRET_FIELDS = frozenset({"database_url"})


def find_config_file(explicit: Path | None = None) -> Path | None:
    """Return the config file to read: the flag, $SIGNALGRAPH_CONFIG, ./signalgraph.toml, home."""
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"config file {explicit} does not exist")
        return explicit
    from_env = os.environ.get(CONFIG_ENV)
    if from_env:
        path = Path(from_env)
        if not path.is_file():
            raise ConfigError(f"config file {path} (from {CONFIG_ENV}) does not exist")
        return path
    local = Path.cwd() / CONFIG_FILE_NAME
    if local.is_file():
        return local
    home = Path(os.environ.get(f"{ENV_PREFIX}HOME") or default_home()) / CONFIG_FILE_NAME
    return home if home.is_file() else None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror}") from exc


def load_settings(config_file: Path | None = None, **flags: Any) -> Settings:
    """Build the effective settings; flags that are None are treated as not given."""
    path = find_config_file(config_file)
    # Read once here: a broken file fails early with a clear message.
    file_keys = frozenset(_read_toml(path)) if path is not None else frozenset()

    class FileSettings(Settings):
        model_config = SettingsConfigDict(toml_file=path)

    given = {key: value for key, value in flags.items() if value is not None}
    try:
        settings = FileSettings(**given)
    except ValidationError as exc:
        raise ConfigError(_describe_validation(exc, path)) from exc
    settings._config_file = path
    settings._flags = frozenset(given)
    settings._file_keys = file_keys
    return settings


def _describe_validation(exc: ValidationError, path: Path | None) -> str:
    problems = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"]) or "settings"
        if error["type"] == "extra_forbidden":
            where = f" in {path}" if path else ""
            problems.append(f"unknown setting {field!r}{where}")
        else:
            problems.append(f"setting {field!r}: {error['msg']}")
    return "invalid configuration: " + "; ".join(problems)


def is_secret_parameter(name: str) -> bool:
    """Return True for URL query parameters that hold a secret (password, sslpassword)."""
    return "password" in name.lower()


def split_url(url: str) -> tuple[URL | None, str]:
    """Return the URL parsed, or None and why it is not one, without quoting any of it.

    A URL that does not parse may hold its password anywhere (an unencoded @ or / moves
    it into the host or the port), so the reason names the part, never its text.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    problem = ""
    try:
        parsed = make_url(url)
    except ArgumentError:
        problem = "it cannot be split into scheme, user, password, host, port and database"
    except ValueError:
        problem = "its port is not a number"
    if problem:
        return None, problem
    if parsed.host is not None and "@" in parsed.host:
        return None, "its host holds an @ (write @ in a user name or password as %40)"
    ports = parsed.query.get("port")
    given = [ports] if isinstance(ports, str) else list(ports or [])
    if any(not re.fullmatch(r"[0-9]{1,5}(,[0-9]{1,5})*", port) for port in given):
        return None, "its port query parameter is not a number"
    return parsed, ""


def mask_url(url: str) -> str:
    """Return the URL with every password (user info and query) replaced by ***.

    The one masking function: every message, repr and listing that shows a URL uses it.
    A URL that does not parse is not shown at all.
    """
    parsed, _ = split_url(url)
    if parsed is None:
        return "<unparseable URL, not shown>"
    secret = [name for name in parsed.query if is_secret_parameter(name)]
    if secret:
        parsed = parsed.update_query_dict(dict.fromkeys(secret, "***"))
    return parsed.render_as_string(hide_password=True).replace("%2A%2A%2A", "***")


def describe_settings(settings: Settings) -> list[dict[str, Any]]:
    """Return each setting with its effective value (secrets masked) and where it came from."""
    rows: list[dict[str, Any]] = []
    for name, field in Settings.model_fields.items():
        value = getattr(settings, name)
        if name in SECRET_FIELDS and value is not None:
            value = mask_url(str(value))
        rows.append(
            {
                "name": name,
                "value": str(value) if isinstance(value, Path) else value,
                "origin": settings.origin_of(name),
                "description": field.description or "",
            }
        )
    return rows
