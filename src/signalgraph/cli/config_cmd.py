"""`signalgraph config`: the effective configuration."""

from __future__ import annotations

import typer

from signalgraph.cli.output import JsonOption, note, print_json, print_table
from signalgraph.cli.state import get_state

app = typer.Typer(help="Inspect the effective configuration.", no_args_is_help=True)


@app.command()
def show(ctx: typer.Context, json: JsonOption = False) -> None:
    """Print every setting, its value (secrets masked) and where it came from."""
    from signalgraph.config import describe_settings

    settings = get_state(ctx).settings()
    rows = describe_settings(settings)
    if json:
        print_json({"config_file": settings.config_file, "settings": rows})
        return
    print_table(rows, ["name", "value", "origin"])
    note(f"config file: {settings.config_file or 'none found'}")
