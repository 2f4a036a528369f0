"""The read commands load the engine's tables and nothing of job code, reports, numpy or migrations."""

from __future__ import annotations

import pytest

from tests.support.cli_imports import HEAVY, LEDGER_MODELS, loaded, modules_after


@pytest.mark.parametrize("args", [("status",), ("jobs", "list"), ("executions", "list"), ("executions", "show", "1")])
def test_read_commands_load_nothing_heavy(db_url: str, args: tuple[str, ...]) -> None:
    code, modules = modules_after(*args, "--database-url", db_url)
    assert code in (0, 66), code  # `executions show 1` on an empty database: not found
    assert loaded(modules, HEAVY) == []
    assert loaded(modules, LEDGER_MODELS) == []
