"""Every command has help text and is documented."""

from __future__ import annotations

from pathlib import Path

import typer
from typer import _click as click  # the Click that Typer bundles and builds its commands with
from typer.core import TyperGroup

from acas_batch.cli import LAZY_COMMANDS, app, load_command

ROOT = Path(__file__).resolve().parents[2]


def _commands(group: click.Command, prefix: str = "") -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    if not isinstance(group, TyperGroup):
        return found
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        assert cmd is not None
        path = f"{prefix} {name}".strip()
        found.append((path, cmd))
        found.extend(_commands(cmd, path))
    return found


def test_the_top_level_summaries_are_the_commands_own() -> None:
    for name, (_, summary) in LAZY_COMMANDS.items():
        command = load_command(name)
        own = (command.help or "").strip().split("\n\n")[0].replace("\n", " ")
        assert own == summary, f"LAZY_COMMANDS[{name!r}] says {summary!r}; the command says {own!r}"


def test_every_command_has_help_and_is_in_the_docs() -> None:
    root = typer.main.get_command(app)
    docs = (ROOT / "README.md").read_text() + "".join(p.read_text() for p in sorted((ROOT / "docs").glob("*.md")))
    commands = _commands(root)
    assert len(commands) >= 4
    for path, cmd in commands:
        assert (getattr(cmd, "help", None) or "").strip(), f"`acas-batch {path}` has no help text"
        assert f"acas-batch {path}" in docs, f"`acas-batch {path}` is not in README.md or docs/"
