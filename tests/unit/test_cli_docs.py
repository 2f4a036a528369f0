"""Every command has help text and is documented."""

from __future__ import annotations

from pathlib import Path

import typer

from acas_batch.cli import app

ROOT = Path(__file__).resolve().parents[2]


def _commands(group: object, prefix: str = "") -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = []
    for name, cmd in getattr(group, "commands", {}).items():
        path = f"{prefix} {name}".strip()
        found.append((path, cmd))
        found.extend(_commands(cmd, path))
    return found


def test_every_command_has_help_and_is_in_the_docs() -> None:
    root = typer.main.get_command(app)
    docs = (ROOT / "README.md").read_text() + "".join(p.read_text() for p in sorted((ROOT / "docs").glob("*.md")))
    commands = _commands(root)
    assert len(commands) >= 4
    for path, cmd in commands:
        assert (getattr(cmd, "help", None) or "").strip(), f"`acas-batch {path}` has no help text"
        assert f"acas-batch {path}" in docs, f"`acas-batch {path}` is not in README.md or docs/"
