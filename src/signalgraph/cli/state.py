"""Per-invocation CLI state: global options and the lazily opened client."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from signalgraph.client import SignalGraph
    from signalgraph.config import Settings


@dataclass
class CliState:
    """Options given before the command name, and what was opened from them."""

    database_url: str | None = field(default=None, repr=False)  # may hold a password
    workspace: str | None = None
    config_file: Path | None = None
    actor: str | None = None
    debug: bool = False
    _settings: Settings | None = None
    _clients: dict[str | None, SignalGraph] = field(default_factory=dict)

    def settings(self) -> Settings:
        """Return the effective settings (flags > env > file > defaults)."""
        if self._settings is None:
            from signalgraph.config import load_settings

            self._settings = load_settings(
                self.config_file,
                database_url=self.database_url,
                workspace=self.workspace,
                actor=self.actor,
            )
        return self._settings

    def acting(self, given: str | None = None) -> str:
        """Return who is acting: a command's own --actor, the root --actor or configured
        actor, else the operating-system user."""
        return given or self.settings().effective_actor

    def client(self, workspace: str | None = None) -> SignalGraph:
        """Return a client bound to `workspace` (or the configured one)."""
        from signalgraph.client import SignalGraph

        if workspace not in self._clients:
            existing = next(iter(self._clients.values()), None)
            if existing is not None and workspace is not None:
                self._clients[workspace] = existing.use_workspace(workspace)
            else:
                self._clients[workspace] = SignalGraph(self.settings(), workspace=workspace)
        return self._clients[workspace]

    def close(self) -> None:
        """Close every client opened during the command."""
        for client in self._clients.values():
            client.close()
        self._clients.clear()


def get_state(ctx: typer.Context) -> CliState:
    """Return the CLI state stored on the root context."""
    root: Any = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    state: CliState = root.obj
    return state
