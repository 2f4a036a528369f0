"""Secret job parameters: sealed at rest, opened only in the job's process, never written in clear."""

from __future__ import annotations

import gzip
import hashlib
import stat
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import Engine, MetaData, func, select

from acas_batch.batch.definitions import create_schedule
from acas_batch.cli import main
from acas_batch.db import transaction
from acas_batch.errors import ValidationError
from acas_batch.masking import SECRET_SHOWN
from acas_batch.models import Audit, BatchExecution
from acas_batch.models.enums import ExecutionState
from acas_batch.secretbox import SecretBox, key_file
from acas_batch.security.actor import Actor
from acas_batch.services.log_viewer import export_log_file
from acas_batch.services.run_actions import run_now
from acas_batch.services.runs import run_detail
from acas_batch.services.secrets import rotate_secret_key
from acas_batch.services.system import backup_now
from tests.engine_helpers import NOW, Running, define, engine_settings, wait_until
from tests.support.users import token_env

#: Who these tests act as: the local administrator console.
CONSOLE = Actor.console()

API_KEY = "sk-Clear-Api-Key-7f3a9c"
BANK_TOKEN = "bank-tok-Q2w3e4r5"


def _everything_stored(engine: Engine) -> str:
    """Every value of every column of every table, as text."""
    meta = MetaData()
    meta.reflect(engine)
    parts = []
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(select(table)):
                parts.extend(str(v) for v in row if v is not None)
    return "\n".join(parts)


def _backup_text(path: Path) -> str:
    if path.name.endswith(".gz"):
        return gzip.decompress(path.read_bytes()).decode("latin-1")
    return subprocess.run(["pg_restore", "-f", "-", str(path)], check=True, capture_output=True, text=True).stdout


def test_a_secret_parameter_is_stored_sealed_and_opened_only_by_the_job(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    # Given a job whose parameter model marks two fields secret
    settings = engine_settings(db_url, tmp_path)
    define(engine, "TEST_SECRET")
    # When it is run with clear secret values
    eid, _ = run_now(
        engine,
        settings,
        "TEST_SECRET",
        {"api_key": API_KEY, "bank_token": BANK_TOKEN},
        business_date=None,
        actor=CONSOLE,
        now=NOW,
    )
    with Running(settings, engine, slots=1):
        wait_until(lambda: _state(engine, eid) is ExecutionState.SUCCEEDED)
    # Then the job saw the clear values (its digest proves it)
    with transaction(engine) as s:
        row = s.get_one(BatchExecution, eid)
        assert row.result is not None
        assert row.result["summary"] == "digest " + hashlib.sha256(f"{API_KEY}|{BANK_TOKEN}".encode()).hexdigest()
        assert row.params["api_key"].startswith("enc:v1:") and row.params["bank_token"].startswith("enc:v1:")
    # And no clear value is in the database, an export or a backup; people see ••••
    export, _, _ = export_log_file(engine, settings, {}, "JSON", output_dir=None, actor=CONSOLE, now=NOW)
    backup = backup_now(engine, settings, Actor.console(), now=NOW, dest_dir=tmp_path / "backups", verify=False)
    for where in (_everything_stored(engine), export.read_text(), _backup_text(backup.info.path)):
        assert API_KEY not in where and BANK_TOKEN not in where
    shown = run_detail(engine, settings, eid, actor=CONSOLE, now=NOW)["params"]
    assert shown["api_key"] == SECRET_SHOWN and shown["bank_token"] == SECRET_SHOWN
    # And the key file is readable by its owner only
    assert stat.S_IMODE(key_file(settings).stat().st_mode) == 0o600


def test_rotating_the_key_reseals_every_stored_secret(engine: Engine, db_url: str, tmp_path: Path) -> None:
    settings = engine_settings(db_url, tmp_path)
    define(engine, "TEST_SECRET")
    eid, _ = run_now(engine, settings, "TEST_SECRET", {"api_key": API_KEY}, business_date=None, actor=CONSOLE, now=NOW)
    old_key = key_file(settings).read_text()
    with transaction(engine) as s:
        before = s.get_one(BatchExecution, eid).params["api_key"]
    done = rotate_secret_key(engine, settings, actor=CONSOLE, now=NOW)
    assert done.resealed == 1 and done.rows == 1
    new_key = key_file(settings).read_text()
    assert new_key != old_key and len(new_key.split()) == 1
    with transaction(engine) as s:
        after = s.get_one(BatchExecution, eid).params["api_key"]
    assert after != before
    assert SecretBox.for_settings(settings).open(after) == API_KEY  # the new key alone opens it
    with pytest.raises(ValidationError, match="cannot be decrypted"):
        SecretBox.for_settings(settings).open(before)


def test_a_schedule_may_not_keep_a_secret_in_clear(engine: Engine, db_url: str, tmp_path: Path) -> None:
    settings = engine_settings(db_url, tmp_path)
    define(engine, "TEST_SECRET")
    with transaction(engine, write=True) as s, pytest.raises(ValidationError, match="must be sealed") as refused:
        create_schedule(s, "TEST_SECRET", now=NOW, kind="daily", rule={"at": "06:00"}, params={"api_key": API_KEY})
    assert API_KEY not in str(refused.value)
    sealed = SecretBox.for_settings(settings).seal(API_KEY)
    with transaction(engine, write=True) as s:
        create_schedule(s, "TEST_SECRET", now=NOW, kind="daily", rule={"at": "06:00"}, params={"api_key": sealed})


def test_sealing_a_value_on_the_command_line_needs_jobs_write_and_is_audited(
    engine: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an installation whose data folder has no secret key yet
    monkeypatch.setenv("ACAS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ACAS_SECRET_KEY", raising=False)
    monkeypatch.delenv("ACAS_SECRET_KEY_FILE", raising=False)
    settings = engine_settings(db_url, tmp_path)

    def seal(role: str) -> tuple[int, str, str, list[Audit]]:
        """Exit code, stdout, stderr and the audit rows added, for ``secrets seal`` by a user of ``role``."""
        monkeypatch.setenv("ACAS_TOKEN", token_env(engine, f"seal_{role}", role)["ACAS_TOKEN"])
        with transaction(engine) as s:
            last = s.scalar(select(func.max(Audit.id))) or 0
        try:
            main(["secrets", "seal", "--value", API_KEY, "--database-url", db_url])
            code = 0
        except SystemExit as ended:
            code = int(ended.code or 0)
        out, err = capsys.readouterr()
        with transaction(engine) as s:
            added = list(s.scalars(select(Audit).where(Audit.id > last).order_by(Audit.id)))
        return code, out, err, added

    # When an operator (no jobs:write) seals: one clear line, and only the refusal is audited
    code, out, err, added = seal("operator")
    assert code == 77 and out == ""
    assert err.strip().splitlines() == [
        "error: seal_operator (role operator) may not secrets.seal: missing permission jobs:write"
    ]
    assert [(a.action, a.actor) for a in added] == [("denied:secrets.seal", "seal_operator")]
    # and nothing else changed: no key was made
    assert not key_file(settings).exists()

    # When an administrator seals: the value printed sealed, opening to the clear one, audited
    code, out, err, added = seal("admin")
    assert code == 0, err
    sealed = out.strip()
    assert sealed.startswith("enc:v1:") and SecretBox.for_settings(settings, create=False).open(sealed) == API_KEY
    assert [(a.action, a.actor) for a in added] == [("secrets.seal", "seal_admin")]
    assert API_KEY not in str(added[0].details) and sealed not in str(added[0].details)


def _state(engine: Engine, eid: int) -> ExecutionState:
    with transaction(engine) as s:
        return s.get_one(BatchExecution, eid).state
