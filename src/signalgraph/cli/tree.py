"""The command tree: Typer declarations turned into click commands only when they are used.

Typer builds every command of an app (inspecting about a hundred signatures) before it
parses one argument, although `signalgraph --version` needs none of them and `db check`
one. The root group here knows every sub-command by name and how to load it; it imports a
command's module and builds the command when it is run, completed or its help is shown,
and lists them all in the root's help from their declarations, without building them.

Every command built here also says what each parameter expects (TEXT, N, PATH, a list of
choices, nothing after a flag) where typer 0.29's rich help prints Python type names
(`<bool>`, `<list[str]>`, `<int range>`), and shows its example as the help's last line.

This leans on typer's own builders (`typer.main.get_group_from_info`,
`get_command_from_info`): the help tests in tests/acceptance/test_cli_help.py fail if a
typer release changes them.
"""

from __future__ import annotations

import datetime as dt
import inspect
import uuid
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import Any, ClassVar, get_args, get_origin

import typer
import typer.main
from typer import _click
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption
from typer.models import CommandInfo, DefaultPlaceholder, TyperInfo

from signalgraph.cli.examples import example_for

# What a value of each type looks like on the command line.
_WORDS: dict[Any, str] = {
    str: "TEXT",
    int: "N",
    float: "NUMBER",
    Path: "PATH",
    dt.date: "DATE",
    dt.datetime: "TIME",
    uuid.UUID: "ID",
}


# Options that take the same kind of text across commands, named once here so that every
# command says it the same way; a metavar given in a declaration still wins.
_TEXT_OPTIONS = {
    "--since": "TIME",
    "--until": "TIME",
    "--as-of": "TIME",
    "--date": "DATE",
    "--before": "DATE",
    "--cursor": "CURSOR",
    "--set": "FIELD=VALUE",
    "--field": "FIELD=VALUE",
    "--where": "CONDITION",
    "--identifier": "SCHEME:VALUE",
    "--database-url": "URL",
    "--workspace": "NAME",
    "--source": "NAME",
    "--list": "NAME",
    "--actor": "NAME",
    "--entity": "ID",
    "--signal": "ID",
    "--object": "ID",
    "--run": "ID",
    "--records": "ID",
    "--to-signal": "ID",
    "--tag": "TAG",
    "--untag": "TAG",
    "--config": "JSON",
}


def expected_word(annotation: Any, choices: tuple[Any, ...] | None = None) -> str:
    """Return the word help shows for a value of `annotation` (TEXT, N, PATH, a|b…)."""
    if choices:
        return "|".join(str(getattr(choice, "value", choice)) for choice in choices)
    if get_origin(annotation) in (list, tuple):
        words = [expected_word(arg) for arg in get_args(annotation) if arg is not Ellipsis]
        return " ".join(dict.fromkeys(words)) or "TEXT"
    return _WORDS.get(annotation, "TEXT")


class _PlainOption(TyperOption):
    """An option whose help shows its metavar, or nothing for a flag."""

    def display_type_rich(self, ctx: _click.Context) -> str | None:
        if self.is_flag or self.count:
            return None
        if self.metavar is not None:
            return self.metavar
        descriptor = self.type_descriptor
        word = expected_word(descriptor.annotation, descriptor.choices)
        if word == "TEXT":
            word = next((_TEXT_OPTIONS[opt] for opt in self.opts if opt in _TEXT_OPTIONS), word)
        return word


class _PlainArgument(TyperArgument):
    """An argument whose help names it once (its metavar) without a Python type beside it."""

    def display_type_rich(self, ctx: _click.Context) -> str | None:
        descriptor = self.type_descriptor
        return "|".join(map(str, descriptor.choices)) if descriptor.choices else None


def _plain(params: list[_click.Parameter]) -> list[_click.Parameter]:
    # typer creates its parameter classes itself, with no hook to choose them: the subclasses
    # above only change how help shows a parameter, so re-classing the built objects is safe.
    for param in params:
        if type(param) is TyperOption:
            param.__class__ = _PlainOption
        elif type(param) is TyperArgument:
            param.__class__ = _PlainArgument
            if param.metavar is None:
                param.metavar = (param.name or "value").upper()  # usage shows `SQL`, not `{sql}`
    return params


def _with_example(command: _click.Command, ctx: _click.Context) -> None:
    if command.epilog is None:
        example = example_for(ctx.command_path.split()[1:])
        if example is not None:
            # Rich markup is on: square brackets in an example are text, not style.
            command.epilog = "Example: " + example.replace("[", "\\[")


class Command(TyperCommand):
    """A leaf command with plain parameter words and its example in its help."""

    def get_params(self, ctx: _click.Context) -> list[_click.Parameter]:
        return _plain(super().get_params(ctx))

    def format_help(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        _with_example(self, ctx)
        super().format_help(ctx, formatter)


class Group(TyperGroup):
    """A sub-command group with plain parameter words and its example in its help."""

    def get_params(self, ctx: _click.Context) -> list[_click.Parameter]:
        return _plain(super().get_params(ctx))

    def format_help(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        _with_example(self, ctx)
        super().format_help(ctx, formatter)


def _use_our_classes(typer_app: typer.Typer) -> None:
    # Only typer's own classes are replaced: a command that chose its class keeps it.
    for command_info in typer_app.registered_commands:
        if command_info.cls in (None, TyperCommand):
            command_info.cls = Command
    for group_info in typer_app.registered_groups:
        if isinstance(group_info.cls, DefaultPlaceholder) or group_info.cls in (None, TyperGroup):
            group_info.cls = Group
        if isinstance(group_info.typer_instance, typer.Typer):
            _use_our_classes(group_info.typer_instance)


def _declared_name(declaration: TyperInfo | CommandInfo) -> str:
    if isinstance(declaration, CommandInfo):
        if declaration.name:
            return declaration.name
        assert declaration.callback is not None
        return typer.main.get_command_name(declaration.callback.__name__)
    assert isinstance(declaration.name, str), "sub-apps are added with a name"
    return declaration.name


def _declared_help(declaration: TyperInfo | CommandInfo) -> str:
    if isinstance(declaration, CommandInfo):
        return inspect.cleandoc(declaration.help or inspect.getdoc(declaration.callback) or "")
    return typer.main.solve_typer_info_help(declaration)


class DeclaredCommands(MutableMapping[str, _click.Command]):
    """The sub-commands named by loaders (each returns a Typer app or a command function),
    each loaded on its first lookup and built into a click command then."""

    def __init__(self, loaders: Mapping[str, Callable[[], Any]], *, rich_markup_mode: Any) -> None:
        self._loaders = dict(loaders)
        self._declared: dict[str, TyperInfo | CommandInfo] = {}
        self._built: dict[str, _click.Command] = {}
        self._rich_markup_mode = rich_markup_mode

    def _declaration(self, name: str) -> TyperInfo | CommandInfo:
        if name not in self._declared:
            loaded = self._loaders[name]()
            holder = typer.Typer()
            if isinstance(loaded, typer.Typer):
                holder.add_typer(loaded, name=name)
            else:
                holder.command(name)(loaded)
            _use_our_classes(holder)
            declaration: TyperInfo | CommandInfo = (
                holder.registered_groups[0]
                if isinstance(loaded, typer.Typer)
                else holder.registered_commands[0]
            )
            self._declared[name] = declaration
        return self._declared[name]

    def __getitem__(self, name: str) -> _click.Command:
        if name not in self._built:
            declaration = self._declaration(name)
            options: dict[str, Any] = {
                "pretty_exceptions_short": True,
                "rich_markup_mode": self._rich_markup_mode,
            }
            if isinstance(declaration, CommandInfo):
                built = typer.main.get_command_from_info(declaration, **options)
            else:
                built = typer.main.get_group_from_info(
                    declaration, suggest_commands=True, **options
                )
            self._built[name] = built
        return self._built[name]

    def __setitem__(self, name: str, command: _click.Command) -> None:
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        self._built.pop(name, None)
        del self._loaders[name]

    def __iter__(self) -> Iterator[str]:
        yield from self._loaders
        yield from (name for name in self._built if name not in self._loaders)

    def __len__(self) -> int:
        return len(set(self._loaders) | set(self._built))

    def summary(self, name: str) -> _click.Command | None:
        """Return the built command, or a stand-in carrying only what a listing shows."""
        if name in self._built or name not in self._loaders:
            return self._built.get(name)
        declaration = self._declaration(name)
        hidden = declaration.hidden
        short_help = declaration.short_help
        return TyperCommand(
            name=name,
            help=_declared_help(declaration),
            short_help=None if isinstance(short_help, DefaultPlaceholder) else short_help,
            hidden=hidden if isinstance(hidden, bool) else False,
        )


class CommandTree(Group):
    """The root group: every declared sub-command, built only when it is used."""

    loaders: ClassVar[Mapping[str, Callable[[], Any]]]

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = DeclaredCommands(self.loaders, rich_markup_mode=self.rich_markup_mode)
        self._listing = False

    def list_commands(self, ctx: _click.Context) -> list[str]:
        return list(self.commands)

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        commands = self.commands
        assert isinstance(commands, DeclaredCommands)
        if self._listing:
            return commands.summary(cmd_name)
        return commands.get(cmd_name)

    def format_help(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        # The listing needs each sub-command's name and help, not the command itself.
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


def command_tree(loaders: Mapping[str, Callable[[], Any]]) -> type[CommandTree]:
    """Return a root group class serving `loaders`: {name: function returning a Typer app or
    a command function}, called when the command is first looked up."""
    return type("SignalgraphCommands", (CommandTree,), {"loaders": loaders})
