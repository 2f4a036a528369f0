"""A killed payment run resumes by itself from its checkpoint, whichever process died.

The standard PL_PAYMENT_RUN allows one attempt of its own (a refusal is not retried), but
a crash of the machinery under it is not its failure: it pays nobody twice (guarded
UPDATEs, its run key) and writes its files from the payments committed under that run
key, so its recovery policy is RETRY. Whether the job's process died (the worker records
it) or the worker itself (a scheduler finds its lease expired), the next attempt is queued
to resume from the checkpoint, with nobody needed to release it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from acas_batch.batch.operations import enqueue
from acas_batch.batch.queue import ClaimLimits, claim, finish_failure, recover_expired, save_checkpoint
from acas_batch.batch.retry import CHILD_DIED
from acas_batch.db import transaction
from acas_batch.jobs.catalogue import STANDARD_JOBS
from acas_batch.jobs.catalogue.installer import install_catalogue
from acas_batch.models.enums import ExecutionState, RecoveryPolicy, TriggerKind
from tests.engine_helpers import NOW, executions


def test_the_standard_payment_run_is_recovered_by_retrying() -> None:
    (payment_run,) = [j for j in STANDARD_JOBS if j.name == "PL_PAYMENT_RUN"]
    assert (payment_run.recovery_policy, payment_run.max_attempts) == (RecoveryPolicy.RETRY, 1)


@pytest.mark.parametrize("killed", ["job process", "worker"])
def test_a_killed_payment_run_is_queued_again_from_its_checkpoint(engine: Engine, killed: str) -> None:
    # Given the standard payment run, claimed, with two chunks of suppliers paid and committed
    with transaction(engine, write=True) as s:
        install_catalogue(s, now=NOW, with_schedules=False)
    with transaction(engine, write=True) as s:
        row = enqueue(s, "PL_PAYMENT_RUN", {}, now=NOW, business_date=NOW.date())
        row.state, eid = ExecutionState.QUEUED, row.id  # its upstream (three-way matching) has run
    with transaction(engine, write=True) as s:
        (c,) = claim(s, worker_id="w1", now=NOW, lease_seconds=30, limit=1, limits=ClaimLimits())
        save_checkpoint(s, eid, c.token, {"suppliers_paid": 2, "paid_pence": 39_300}, NOW)
    # When the machinery under it dies
    with transaction(engine, write=True) as s:
        if killed == "job process":  # its worker sees the child gone and records it
            finish_failure(s, eid, c.token, now=NOW, error_type=CHILD_DIED, error_message="exited with signal 9")
        else:  # nobody renews the lease; a scheduler recovers it
            assert recover_expired(s, now=NOW + timedelta(seconds=31)) == [eid]
    # Then the attempt after it waits its short pause and runs again from the checkpoint, not held
    rows = executions(engine)
    assert [r.state for r in rows] == [ExecutionState.FAILED, ExecutionState.RETRY_WAIT]
    assert rows[0].reason is not None and "infrastructure failure 1 of" in rows[0].reason
    again = rows[1]
    assert (again.trigger, again.attempt, again.infra_failures) == (TriggerKind.RECOVERY, 2, 1)
    assert again.checkpoint == {"suppliers_paid": 2, "paid_pence": 39_300}
    assert again.run_key == rows[0].run_key
