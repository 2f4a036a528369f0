"""``acas-batch --help`` and ``version`` answer without importing the database, the model or job code.

A test of behaviour, not of time: what a command imports is what it costs to start
(``make bench BENCH=cli`` prints the times).
"""

from __future__ import annotations

import pytest

from tests.support.cli_imports import HEAVY, loaded, modules_after


@pytest.mark.parametrize("args", [("--help",), ("version",), ("jobs", "--help"), ()])
def test_help_and_version_load_nothing_heavy(args: tuple[str, ...]) -> None:
    code, modules = modules_after(*args)
    assert code in (0, 2), code  # no arguments: the help, with the usage exit status
    assert loaded(modules, HEAVY) == []
    if args in (("--help",), ("version",), ()):
        # (pydantic may load: Typer coerces option values with it)
        assert loaded(modules, ("sqlalchemy", "acas_batch.models", "acas_batch.services", "acas_batch.config")) == []


def test_every_model_module_is_registered_by_load_all() -> None:
    from pathlib import Path

    import acas_batch.models as models

    folder = Path(models.__file__).parent
    defining = {p.stem for p in folder.glob("*.py") if "__tablename__" in p.read_text()}
    assert defining <= set(models.MODEL_MODULES), defining - set(models.MODEL_MODULES)
    models.load_all()
    assert {t.split("_rec")[0] for t in models.Base.metadata.tables} >= {"batch_job", "batch_outbox"}
