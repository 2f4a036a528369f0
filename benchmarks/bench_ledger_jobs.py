"""Ledger jobs at full size, each beside the best single hand-written computation of the same figures.

Jobs: GL_TRIAL_BALANCE, SL_AGED_DEBTORS, SL_STATEMENT_GENERATION, PL_PAYMENT_RUN,
ST_ABC_ANALYSIS, ST_STOCK_VALUATION and ST_DEMAND_FORECAST. Each job runs through the real
job context (``tests.support.context.run_job``: execution row, logs, checkpoints, snapshot
rows and files written and committed); its baseline is one read-only SQL statement (a SQL
read plus vectorised numpy for the forecast) that computes the same figures with no writes.
After each pair the job's figures (read back from its snapshot rows and result) are compared
with the baseline's, figure for figure (forecast units, floats, to within 0.01); a difference
is marked on its row and fails the run at the end, so the baseline is honest.

Every measurement (each job, each baseline) runs in a fresh ``multiprocessing`` child forked
by the forkserver (so its peak memory does not start from this process's):
its wall time is taken around the work only (imports and the connection are made first, on
the engine a worker's job process uses: ``worker.job_process_engine``, whose connections are
pinged only after two seconds idle),
its peak memory is the child's peak RSS (``resource.getrusage(RUSAGE_SELF).ru_maxrss`` read
at its end), so it includes the interpreter and the imported libraries (about 100 MB).

Environment:

- ``ACAS_BENCH_LEDGER_URL``: the database. Default: a fresh SQLite file in a temporary folder.
  The demo company is generated into it only if its ledger is empty, so a full-size company
  (e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/acas_bench_full`` or
  ``sqlite:////work/bench-data/full.db``) is generated once and reused.
- ``ACAS_BENCH_LEDGER_SCALE``: demo scale when generating (default 2; 640 gives 1,104,317
  sales invoices, 9,911,775 journal lines, 25,600 customers and 32,000 items, and takes
  about 35 minutes per database on a busy 2-core machine).
- ``ACAS_BENCH_LEDGER_JOBS``: comma-separated job names (default: all seven).
- ``ACAS_BENCH_LEDGER_RUNS``: how many times each job and its baseline run, alternately
  (default 1). With more than one, the medians are compared (each run's pair is shown too)
  and every run's figures are checked; on a shared machine a single pair is noisy.
- ``ACAS_BENCH_LEDGER_STATEMENT_PDF``: number of customers whose statement PDF is rendered in a
  separate measurement (default 30, after one warm-up render); the SQL/CSV part of
  SL_STATEMENT_GENERATION is measured on its own with ``output_format=csv``, since rendering a
  PDF per customer dominates at full size. 0 leaves the PDF measurement out.

- ``ACAS_BENCH_LEDGER_WARM``: 1 to time each job (and each baseline) as the second run in its
  process, after one untimed run there: what a worker's long-lived job process meets every
  day after its first (SQLAlchemy has compiled the job's statements; the payment run's warm-up
  pays on a copy of its own, on an engine sharing the compiled statements). Default: each
  timed run is the first in a fresh process, as after a worker starts, and pays the compiling.
- ``ACAS_BENCH_LEDGER_RERUN``: 1 to time the stock jobs as forced reruns, each replacing the
  snapshot of the run before (``replace_snapshot`` deletes its rows). Default: each timed run is
  the day's scheduled run, with no earlier snapshot of its run key; the earlier runs' snapshot
  rows are deleted before it (not timed).

Earlier successful executions of a job are marked superseded before it runs (as a forced
rerun does), so one database serves any number of runs. On PostgreSQL with autovacuum off the
database is vacuumed and analysed first (a company just generated never was), and before each
run the tables autovacuum's own thresholds say are due are vacuumed and analysed, as it would
have between runs a day apart (neither timed). Each measurement runs in its own process, which
freezes its loaded modules out of the garbage collector's passes before timing, as a worker's
job process does.
Figures are printed to stderr as they are measured and returned as the table at the end.

The company must end on 2026-11-23 (the generated one does): every job runs with business
date 2026-11-23. PL_PAYMENT_RUN pays invoices, so it runs on a copy of the database
(``CREATE DATABASE ... TEMPLATE`` on PostgreSQL, which needs no other session connected to
the database; a file copy on SQLite), dropped afterwards; the copy is not timed. It has a
second baseline, ``base_payment_writes``: hand-written SQL that writes the same payments,
allocations, journals and lines and updates the documents in one transaction, on another
copy; what both wrote is read back (``written_payments``) and compared supplier by supplier.
"""

from __future__ import annotations

import csv
import gc
import io
import math
import multiprocessing
import os
import resource
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, bindparam, select, text, update
from sqlalchemy.engine import make_url

from acas_batch.batch.worker import job_process_engine
from acas_batch.db import make_engine
from acas_batch.ledger.demo import DemoSize, generate, ledger_is_empty
from acas_batch.models.migrate import upgrade
from benchmarks.bench_stock_jobs import ABC_SQL, VALUATION_SQL, monthly_demand

END = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)
PAY_DAY = date(2026, 11, 25)
LOOKAHEAD = 30  # the demo's suppliers are paid to date: the run also pays what falls due in 30 days
PREVIOUS = (date(2026, 10, 1), date(2026, 10, 31))  # the statements' period: PREVIOUS at END
JOBS = (
    "GL_TRIAL_BALANCE",
    "SL_AGED_DEBTORS",
    "SL_STATEMENT_GENERATION",
    "PL_PAYMENT_RUN",
    "ST_ABC_ANALYSIS",
    "ST_STOCK_VALUATION",
    "ST_DEMAND_FORECAST",
)
PARAMS: dict[str, dict[str, Any]] = {
    "GL_TRIAL_BALANCE": {"as_of": END.isoformat(), "output_format": "csv"},
    "SL_AGED_DEBTORS": {"output_format": "csv"},
    "SL_STATEMENT_GENERATION": {"period": "PREVIOUS", "output_format": "csv"},
    "PL_PAYMENT_RUN": {"payment_date": PAY_DAY.isoformat(), "lookahead_days": LOOKAHEAD, "bank_format": "csv"},
    "ST_ABC_ANALYSIS": {},
    "ST_STOCK_VALUATION": {"output_format": "csv"},
    "ST_DEMAND_FORECAST": {"period": "PREVIOUS"},
}

Figures = dict[Any, Any]

# ---------------------------------------------------------------------------------------------
# Baselines: one statement each, no writes. ``{days}``-style fields are the dialect's spelling.

TB_SQL = """
SELECT l.account_id, SUM(l.debit_pence) - SUM(l.credit_pence)
FROM gl_journal_line_rec l JOIN gl_journal_rec j ON j.id = l.journal_id
WHERE j.status <> 'pending' AND j.journal_date <= :as_of
GROUP BY l.account_id
"""

AGED_SQL = """
WITH items AS (
  SELECT customer_id, {days_due} AS days,
         CASE WHEN kind = 'invoice' THEN outstanding_pence ELSE -outstanding_pence END AS amount
  FROM sl_invoice_rec WHERE outstanding_pence > 0
  UNION ALL
  SELECT customer_id, {days_receipt}, -unallocated_pence FROM sl_receipt_rec WHERE unallocated_pence > 0
)
SELECT customer_id,
  (SELECT SUM(l.debit_pence - l.credit_pence) FROM gl_journal_line_rec l
   WHERE l.account_id = (SELECT id FROM gl_account_rec WHERE control = 'debtors')) AS control,
  SUM(CASE WHEN days <= 0 THEN amount ELSE 0 END),
  SUM(CASE WHEN days BETWEEN 1 AND 30 THEN amount ELSE 0 END),
  SUM(CASE WHEN days BETWEEN 31 AND 60 THEN amount ELSE 0 END),
  SUM(CASE WHEN days BETWEEN 61 AND 90 THEN amount ELSE 0 END),
  SUM(CASE WHEN days BETWEEN 91 AND 120 THEN amount ELSE 0 END),
  SUM(CASE WHEN days > 120 THEN amount ELSE 0 END),
  SUM(amount)
FROM items GROUP BY customer_id
"""

STATEMENT_SQL = """
WITH m AS (
  SELECT customer_id, invoice_date AS day,
         CASE WHEN kind = 'invoice' THEN gross_pence ELSE -gross_pence END AS amount FROM sl_invoice_rec
  UNION ALL
  SELECT customer_id, receipt_date, -amount_pence FROM sl_receipt_rec
), per AS (
  SELECT customer_id,
    SUM(CASE WHEN day < :start THEN amount ELSE 0 END) AS opening,
    SUM(CASE WHEN day >= :start AND amount > 0 THEN amount ELSE 0 END) AS debits,
    SUM(CASE WHEN day >= :start AND amount < 0 THEN -amount ELSE 0 END) AS credits,
    SUM(CASE WHEN day >= :start THEN 1 ELSE 0 END) AS n
  FROM m WHERE day <= :end GROUP BY customer_id
), items AS (
  SELECT customer_id, {days_due} AS days,
         CASE WHEN kind = 'invoice' THEN outstanding_pence ELSE -outstanding_pence END AS amount
  FROM sl_invoice_rec WHERE outstanding_pence > 0
  UNION ALL
  SELECT customer_id, {days_receipt}, -unallocated_pence FROM sl_receipt_rec WHERE unallocated_pence > 0
), aged AS (
  SELECT customer_id,
    SUM(CASE WHEN days <= 0 THEN amount ELSE 0 END) AS b0,
    SUM(CASE WHEN days BETWEEN 1 AND 30 THEN amount ELSE 0 END) AS b1,
    SUM(CASE WHEN days BETWEEN 31 AND 60 THEN amount ELSE 0 END) AS b2,
    SUM(CASE WHEN days BETWEEN 61 AND 90 THEN amount ELSE 0 END) AS b3,
    SUM(CASE WHEN days BETWEEN 91 AND 120 THEN amount ELSE 0 END) AS b4,
    SUM(CASE WHEN days > 120 THEN amount ELSE 0 END) AS b5
  FROM items GROUP BY customer_id
)
SELECT per.customer_id, opening, debits, credits, opening + debits - credits AS closing, n,
       COALESCE(b0, 0) AS a0, COALESCE(b1, 0) AS a1, COALESCE(b2, 0) AS a2, COALESCE(b3, 0) AS a3,
       COALESCE(b4, 0) AS a4, COALESCE(b5, 0) AS a5
FROM per LEFT JOIN aged ON aged.customer_id = per.customer_id
WHERE n > 0 OR opening + debits - credits <> 0
"""

STOCK_CONTROL_SQL = """SELECT SUM(l.debit_pence - l.credit_pence) FROM gl_journal_line_rec l
   WHERE l.account_id = (SELECT id FROM gl_account_rec WHERE control = 'stock')"""

# What PL_PAYMENT_RUN pays, per invoice: the payable invoices with the total of the supplier's
# invoices due before each (oldest due first), the supplier's open credit notes set against them
# in that order (``r``: what is left to pay of the invoice), the settlement discount (``d``) half-up
# in whole pence when the payment date is within the supplier's settlement days. A supplier is paid
# when its invoices exceed its credit notes and something is left to pay. Shared by the read-only
# baseline (PAYMENT_SQL) and the writing one (PAY_PLAN_SQL), so both pay what the same plan says.
PAY_PLAN_CTE = """
WITH inv AS (
  SELECT i.supplier_id, i.id, i.outstanding_pence AS o, i.invoice_date, s.settlement_days,
         CAST(ROUND(s.settlement_discount_pct * 100) AS INTEGER) AS pct100,
         CAST(COALESCE(SUM(i.outstanding_pence) OVER (PARTITION BY i.supplier_id ORDER BY i.due_date, i.id
                  ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS BIGINT) AS before
  FROM pl_invoice_rec i JOIN pl_supplier_rec s ON s.id = i.supplier_id
  WHERE i.kind = 'invoice' AND i.outstanding_pence > 0 AND i.approved AND NOT i.on_hold
    AND i.due_date <= :due_by AND NOT s.on_hold
), cr AS (
  SELECT supplier_id, CAST(SUM(outstanding_pence) AS BIGINT) AS c FROM pl_invoice_rec
  WHERE kind = 'credit_note' AND outstanding_pence > 0 GROUP BY supplier_id
), rest AS (
  SELECT inv.supplier_id, inv.id, inv.o, inv.before, COALESCE(cr.c, 0) AS c, inv.invoice_date,
         inv.settlement_days, inv.pct100,
         inv.o - CASE WHEN COALESCE(cr.c, 0) - inv.before <= 0 THEN 0
                      WHEN COALESCE(cr.c, 0) - inv.before >= inv.o THEN inv.o
                      ELSE COALESCE(cr.c, 0) - inv.before END AS r
  FROM inv LEFT JOIN cr ON cr.supplier_id = inv.supplier_id
), disc AS (
  SELECT supplier_id, id, o, before, c, r,
         CASE WHEN {in_time} AND pct100 > 0 THEN (r * pct100 + 5000) / 10000 ELSE 0 END AS d
  FROM rest
), paid AS (
  SELECT supplier_id FROM disc GROUP BY supplier_id HAVING SUM(o) - MAX(c) > 0 AND SUM(r) - SUM(d) > 0
)
"""

PAYMENT_SQL = (
    PAY_PLAN_CTE
    + """SELECT disc.supplier_id, SUM(r) - SUM(d), SUM(d) FROM disc JOIN paid ON paid.supplier_id = disc.supplier_id
GROUP BY disc.supplier_id
"""
)


def _dialect_sql(engine: Engine, sql: str) -> str:
    sqlite = engine.dialect.name == "sqlite"
    day = f"'{END.isoformat()}'"
    return sql.format(
        days_due=f"CAST(julianday({day}) - julianday(due_date) AS INTEGER)" if sqlite else f"DATE {day} - due_date",
        days_receipt=(
            f"CAST(julianday({day}) - julianday(receipt_date) AS INTEGER)" if sqlite else f"DATE {day} - receipt_date"
        ),
        in_time=(
            f"date(invoice_date, '+' || settlement_days || ' days') >= '{PAY_DAY.isoformat()}'"
            if sqlite
            else f"invoice_date + settlement_days >= DATE '{PAY_DAY.isoformat()}'"
        ),
    )


def _bind(engine: Engine, value: date) -> Any:
    return value.isoformat() if engine.dialect.name == "sqlite" else value


def base_trial_balance(engine: Engine) -> Figures:
    with engine.connect() as conn:
        rows = conn.execute(text(TB_SQL), {"as_of": _bind(engine, END)})
        return {int(a): (max(int(b), 0), max(-int(b), 0)) for a, b in rows if int(b)}


def base_aged_debtors(engine: Engine) -> Figures:
    """Per customer the buckets and total; and the debtors control balance the job ties them to."""
    with engine.connect() as conn:
        rows = conn.execute(text(_dialect_sql(engine, AGED_SQL))).all()
        return {int(r[0]): tuple(int(v) for v in r[2:]) for r in rows} | {"control": int(rows[0][1]) if rows else 0}


def _statement_sql(engine: Engine) -> str:
    end = PREVIOUS[1]
    if engine.dialect.name == "sqlite":
        days = "CAST(julianday('{end}') - julianday({column}) AS INTEGER)"
    else:
        days = "DATE '{end}' - {column}"
    return STATEMENT_SQL.format(
        days_due=days.format(end=end.isoformat(), column="due_date"),
        days_receipt=days.format(end=end.isoformat(), column="receipt_date"),
    )


#: The writing baseline's own run key: its rows and documents stay apart from the job's.
STATEMENT_WRITES_KEY = "BENCH_STATEMENT_WRITES:2026-10"


def base_statement_writes(engine: Engine, csv_path: Path) -> None:
    """SL_STATEMENT_GENERATION's writes (``output_format=csv``, no e-mail) by hand, in one
    transaction: the run key's statement rows replaced by :data:`STATEMENT_SQL`'s figures with
    each customer's code, name and address (one ``INSERT ... SELECT``); the CSV of them in
    customer code order (``COPY ... TO STDOUT`` on PostgreSQL, one cursor on SQLite); and a
    document record per statement, not e-mailed, kept once (``ON CONFLICT DO NOTHING``: a later
    run, as the job's timed run, finds them recorded). Under a run key of its own."""
    start, end = PREVIOUS
    key = STATEMENT_WRITES_KEY
    buckets = ", ".join(f"aged_{i}_pence" for i in range(6))
    insert = f"""INSERT INTO sl_statement_rec (execution_id, run_key, period_start, period_end, customer_id,
        customer_code, customer_name, opening_pence, debits_pence, credits_pence, closing_pence, transactions,
        {buckets}, email_to)
      SELECT :execution, :key, :start, :end, s.customer_id, c.code, c.name, s.opening, s.debits, s.credits,
        s.closing, s.n, s.a0, s.a1, s.a2, s.a3, s.a4, s.a5, c.statement_email
      FROM ({_statement_sql(engine)}) AS s JOIN sl_customer_rec c ON c.id = s.customer_id"""
    documents = """INSERT INTO batch_document_rec (document_key, kind, execution_id, run_key, party, party_id,
        party_code, email_to, delivery, created_at)
      SELECT 'statement:' || :key || ':' || customer_code, 'statement', :execution, :key, 'customer', customer_id,
        customer_code, email_to, 'email_off', :now
      FROM sl_statement_rec WHERE run_key = :key
      ON CONFLICT (document_key) DO NOTHING"""
    columns = (
        "customer_code, customer_name, opening_pence, debits_pence, credits_pence, closing_pence, transactions,"
        f" email_to, {buckets}"
    )
    rows = f"SELECT {columns} FROM sl_statement_rec WHERE run_key = :key ORDER BY customer_code"
    from acas_batch.models import MailedDocument  # here: the module loads none of the models at import

    now_type = MailedDocument.__table__.c.created_at.type
    with engine.begin() as conn:
        execution = conn.scalar(text("SELECT MAX(id) FROM batch_execution_rec"))
        conn.execute(text("DELETE FROM sl_statement_rec WHERE run_key = :key"), {"key": key})
        conn.execute(
            text(insert),
            {"execution": execution, "key": key, "start": _bind(engine, start), "end": _bind(engine, end)},
        )
        raw: Any = conn.connection.driver_connection
        with csv_path.open("wb") as out:
            if engine.dialect.name == "postgresql":
                quoted = rows.replace(":key", f"'{key}'")
                copy_sql = f"COPY ({quoted}) TO STDOUT WITH (FORMAT csv, HEADER)"
                with raw.cursor() as cur, cur.copy(copy_sql) as copy:
                    for block in copy:
                        out.write(block)
            else:
                text_out = io.TextIOWrapper(out, encoding="utf-8", newline="")
                writer = csv.writer(text_out)
                writer.writerow([c.strip() for c in columns.split(",")])
                writer.writerows(raw.execute(rows.replace(":key", "?"), (key,)))
                text_out.flush()
                text_out.detach()
        statement = text(documents).bindparams(bindparam("now", type_=now_type))
        conn.execute(statement, {"key": key, "execution": execution, "now": NOW})


def base_statements(engine: Engine) -> Figures:
    """Per statement the opening balance, the period's debits, credits and count, the closing
    balance, and the aged summary (open items by days past due at the period end)."""
    start, end = PREVIOUS
    sql = _statement_sql(engine)
    with engine.connect() as conn:
        rows = conn.execute(text(sql), {"start": _bind(engine, start), "end": _bind(engine, end)})
        return {int(r[0]): tuple(int(v) for v in r[1:]) for r in rows}


def base_payment_run(engine: Engine) -> Figures:
    with engine.connect() as conn:
        rows = conn.execute(
            text(_dialect_sql(engine, PAYMENT_SQL)), {"due_by": _bind(engine, PAY_DAY + timedelta(days=LOOKAHEAD))}
        )
        return {int(s): (int(paid), int(d)) for s, paid, d in rows}


# ---------------------------------------------------------------------------------------------
# PL_PAYMENT_RUN's second baseline: the same payments written by hand, set-based, in one
# transaction on a copy of the database. The plan is PAY_PLAN_CTE's (as PAYMENT_SQL's), kept per invoice in a
# temporary table; credit notes are set against invoices oldest due first by overlapping the
# running totals of both (what the job's greedy loop does); then one statement each updates the
# documents, writes the journals, their lines, the payments, their allocations and the credit
# notes' allocations, and the run's row. Its figures are read back from what it wrote, as the
# job's are, and compared supplier by supplier.

PAY_PLAN_SQL = (
    "CREATE TEMPORARY TABLE pay_plan AS"
    + PAY_PLAN_CTE
    + "SELECT disc.* FROM disc JOIN paid ON paid.supplier_id = disc.supplier_id\n"
)

PAY_CREDITS_SQL = """
CREATE TEMPORARY TABLE pay_credit AS
SELECT n.supplier_id, n.id, n.outstanding_pence AS c,
       CAST(COALESCE(SUM(n.outstanding_pence) OVER (PARTITION BY n.supplier_id ORDER BY n.invoice_date, n.id
                ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS BIGINT) AS before
FROM pl_invoice_rec n
WHERE n.kind = 'credit_note' AND n.outstanding_pence > 0
  AND n.supplier_id IN (SELECT supplier_id FROM pay_plan)
"""

PAY_SUPPLIER_SQL = """
CREATE TEMPORARY TABLE pay_supplier AS
SELECT t.*, {journal_id} AS journal_id, {payment_id} AS payment_id
FROM (SELECT p.supplier_id, s.code, CAST(SUM(p.r) AS BIGINT) AS cleared, CAST(SUM(p.d) AS BIGINT) AS discount,
             CASE WHEN s.sort_code IS NOT NULL AND s.sort_code <> '' THEN 'bacs' ELSE 'cheque' END AS method,
             'PAYRUN {day} ' || p.supplier_id AS ref
      FROM pay_plan p JOIN pl_supplier_rec s ON s.id = p.supplier_id
      GROUP BY p.supplier_id, s.code, s.sort_code) t
"""

# Every paid supplier's invoices and credit notes are cleared whole: a supplier is paid only
# when its invoices due exceed its credit notes, and the run pays all of them (no max_total).
# The journals' and payments' ids are drawn up front (the sequences on PostgreSQL, the next
# rowids on SQLite), so no statement has to find the rows just written.
PAY_WRITES = (
    """UPDATE pl_invoice_rec SET outstanding_pence = 0, status = 'paid'
       WHERE id IN (SELECT id FROM pay_plan UNION ALL SELECT id FROM pay_credit)""",
    """INSERT INTO gl_journal_rec (id, journal_date, period_id, source, reference, description, status, total_pence,
                                   created_at)
       SELECT journal_id, :pay_day, :period, 'PL', ref, 'Payment to ' || code, 'pending', cleared, :now
       FROM pay_supplier""",
    """INSERT INTO gl_journal_line_rec (journal_id, line_no, account_id, debit_pence, credit_pence, description)
       SELECT journal_id, 1, :creditors, cleared, 0, ref FROM pay_supplier
       UNION ALL
       SELECT journal_id, 2, :bank, 0, cleared - discount, ref FROM pay_supplier
       UNION ALL
       SELECT journal_id, 3, :discount, 0, discount, ref FROM pay_supplier WHERE discount > 0""",
    """INSERT INTO pl_payment_rec (id, supplier_id, payment_date, amount_pence, discount_pence, unallocated_pence,
                                   method, reference, run_key, bank_account_id, journal_id)
       SELECT payment_id, supplier_id, :pay_day, cleared - discount, discount, 0, method, ref, :run_key, :bank_id,
              journal_id
       FROM pay_supplier""",
    """INSERT INTO pl_allocation_rec (invoice_id, payment_id, amount_pence, discount_pence, allocated_on)
       SELECT p.id, s.payment_id, p.r, p.d, :pay_day
       FROM pay_plan p JOIN pay_supplier s ON s.supplier_id = p.supplier_id WHERE p.r > 0""",
    """INSERT INTO pl_allocation_rec (invoice_id, credit_note_id, amount_pence, discount_pence, allocated_on)
       SELECT p.id, n.id, {least}(p.before + p.o, n.before + n.c) - {greatest}(p.before, n.before), 0, :pay_day
       FROM pay_plan p JOIN pay_credit n ON n.supplier_id = p.supplier_id
         AND n.before < p.before + p.o AND p.before < n.before + n.c""",
    """INSERT INTO pl_payment_run_rec (run_key, payment_date, processing_date, payments, paid_pence, discount_pence,
                                       completed)
       SELECT :run_key, :pay_day, :processing, COUNT(*), COALESCE(SUM(cleared - discount), 0),
              COALESCE(SUM(discount), 0), :completed
       FROM pay_supplier""",
)


def base_payment_writes(engine: Engine) -> None:
    """PL_PAYMENT_RUN's payments written by hand in one transaction (see PAY_WRITES); returns nothing,
    its figures are read back by :func:`written_payments`."""
    from sqlalchemy import Boolean, Date, bindparam

    from acas_batch.models import Journal

    sqlite = engine.dialect.name == "sqlite"
    day = _bind(engine, PAY_DAY)
    types = {
        "pay_day": Date(),
        "processing": Date(),
        "now": Journal.__table__.c.created_at.type,
        "completed": Boolean(),
    }
    with engine.begin() as conn:
        period = conn.scalar(
            text("SELECT id FROM accounting_period_rec WHERE start_date <= :d AND end_date >= :d AND status = 'open'"),
            {"d": day},
        )
        accounts = dict(
            conn.execute(text("SELECT control, MIN(id) FROM gl_account_rec WHERE active GROUP BY control")).all()
        )
        bank = conn.scalar(text("SELECT account_id FROM bank_account_rec WHERE id = 1"))
        conn.execute(
            text(_dialect_sql(engine, PAY_PLAN_SQL)), {"due_by": _bind(engine, PAY_DAY + timedelta(days=LOOKAHEAD))}
        )
        conn.execute(text(PAY_CREDITS_SQL))
        if sqlite:
            after = "COALESCE((SELECT MAX(id) FROM {}), 0) + ROW_NUMBER() OVER (ORDER BY t.supplier_id)"
            ids = {"journal_id": after.format("gl_journal_rec"), "payment_id": after.format("pl_payment_rec")}
        else:
            ids = {
                "journal_id": "nextval(pg_get_serial_sequence('gl_journal_rec', 'id'))",
                "payment_id": "nextval(pg_get_serial_sequence('pl_payment_rec', 'id'))",
            }
        conn.execute(text(PAY_SUPPLIER_SQL.format(day=f"{PAY_DAY:%Y%m%d}", **ids)))
        params = {
            "pay_day": PAY_DAY,
            "processing": PAY_DAY - timedelta(days=2),
            "period": period,
            "now": NOW,
            "creditors": accounts["creditors"],
            "discount": accounts["discount_received"],
            "bank": bank,
            "bank_id": 1,
            "run_key": f"PL_PAYMENT_RUN:{END}",
            "completed": True,
        }
        for template in PAY_WRITES:
            sql = template.format(least="min" if sqlite else "LEAST", greatest="max" if sqlite else "GREATEST")
            used = [k for k in params if f":{k}" in sql]
            statement = text(sql).bindparams(*(bindparam(k, type_=types[k]) for k in used if k in types))
            conn.execute(statement, {k: params[k] for k in used})
        for table in ("pay_plan", "pay_credit", "pay_supplier"):
            conn.execute(text(f"DROP TABLE {table}"))


def written_payments(engine: Engine) -> Figures:
    """What a payment run wrote, read back per supplier: (paid, discount, invoices paid, pence cleared by the
    payment, credit notes set against invoices, pence they cleared, journal debits to creditors, credits to the
    bank, credits to discount received); and the journals' and the documents' totals."""
    key = {"k": f"PL_PAYMENT_RUN:{END}"}
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                """
SELECT p.supplier_id, p.amount_pence, p.discount_pence,
  (SELECT COUNT(*) FROM pl_allocation_rec a WHERE a.payment_id = p.id),
  (SELECT SUM(a.amount_pence) FROM pl_allocation_rec a WHERE a.payment_id = p.id),
  (SELECT SUM(l.debit_pence) FROM gl_journal_line_rec l WHERE l.journal_id = p.journal_id AND l.account_id = c.id),
  (SELECT SUM(l.credit_pence) FROM gl_journal_line_rec l
   WHERE l.journal_id = p.journal_id AND l.account_id = b.account_id),
  (SELECT COALESCE(SUM(l.credit_pence), 0) FROM gl_journal_line_rec l
   WHERE l.journal_id = p.journal_id AND l.account_id = x.id),
  (SELECT SUM(l.debit_pence) - SUM(l.credit_pence) FROM gl_journal_line_rec l WHERE l.journal_id = p.journal_id)
FROM pl_payment_rec p JOIN bank_account_rec b ON b.id = p.bank_account_id
JOIN gl_account_rec c ON c.control = 'creditors' JOIN gl_account_rec x ON x.control = 'discount_received'
WHERE p.run_key = :k"""
            ),
            key,
        )
        figures: Figures = {int(r[0]): tuple(int(v) for v in r[1:]) for r in rows}
        credits = conn.execute(
            text(
                """
SELECT i.supplier_id, COUNT(*), SUM(a.amount_pence)
FROM pl_allocation_rec a JOIN pl_invoice_rec i ON i.id = a.invoice_id
WHERE a.credit_note_id IS NOT NULL AND a.allocated_on = :d GROUP BY i.supplier_id"""
            ),
            {"d": _bind(engine, PAY_DAY)},
        )
        for supplier, count, pence in credits:
            figures[("credit notes", int(supplier))] = (int(count), int(pence))
        figures["open documents"] = tuple(
            int(v)
            for v in conn.execute(
                text("SELECT COUNT(*), SUM(outstanding_pence) FROM pl_invoice_rec WHERE outstanding_pence > 0")
            ).one()
        )
    return figures


def base_abc(engine: Engine) -> Callable[[], Figures]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(ABC_SQL), {"since": _bind(engine, date(2025, 11, 23)), "until": _bind(engine, END)}
        ).all()
    return lambda: {int(i): (int(r), int(q), int(v), int(b), str(k)) for i, r, q, v, b, k in rows}


def base_valuation(engine: Engine) -> Figures:
    """Per stock level its value; and the stock control balance the job ties the total to."""
    sql = VALUATION_SQL.replace("SELECT s.item_id,", f"SELECT ({STOCK_CONTROL_SQL}), s.item_id,", 1)
    with engine.connect() as conn:
        rows = conn.execute(text(sql)).all()
        return {(int(i), int(w)): int(v) for _c, i, w, v in rows} | {"control": int(rows[0][0]) if rows else 0}


def base_forecast(engine: Engine) -> Figures:
    from acas_batch.analysis.forecast import forecast_many

    items, y = monthly_demand(engine, date(2024, 11, 1), date(2026, 10, 31))
    fc = forecast_many(y, 12)
    units = fc.forecasts.round(3).sum(axis=1).tolist()
    return {int(item): (fc.methods[n].value, units[n]) for n, item in enumerate(items.tolist())}


BASELINES: dict[str, Callable[[Engine], Figures | Callable[[], Figures]]] = {
    "GL_TRIAL_BALANCE": base_trial_balance,
    "SL_AGED_DEBTORS": base_aged_debtors,
    "SL_STATEMENT_GENERATION": base_statements,
    "PL_PAYMENT_RUN": base_payment_run,
    "ST_ABC_ANALYSIS": base_abc,
    "ST_STOCK_VALUATION": base_valuation,
    "ST_DEMAND_FORECAST": base_forecast,
}

# ---------------------------------------------------------------------------------------------
# The job's figures, read back from what it wrote (after the timed run).


def job_figures(engine: Engine, name: str, execution_id: int, result: Any) -> Figures:
    from acas_batch.models import AgedDebtorLine, ForecastResult

    e = {"e": execution_id}
    with engine.connect() as conn:
        if name == "GL_TRIAL_BALANCE":
            q = "SELECT account_id, debit_pence, credit_pence FROM gl_trial_balance_rec WHERE execution_id = :e"
            return {int(a): (int(d), int(c)) for a, d, c in conn.execute(text(q), e)}
        if name == "SL_AGED_DEBTORS":
            rows = conn.execute(
                select(AgedDebtorLine.customer_id, AgedDebtorLine.bucket_pence, AgedDebtorLine.total_pence).where(
                    AgedDebtorLine.execution_id == execution_id
                )
            )
            return {int(c): (*(int(v) for v in b), int(t)) for c, b, t in rows} | {
                "control": int(result.totals["control_pence"])
            }
        if name == "SL_STATEMENT_GENERATION":
            # The snapshot rows hold the balances; the aged summary is in statements.csv.
            with Path(result.files[0]).open(newline="") as fh:
                aged = {row[0]: tuple(int(v) for v in row[8:]) for row in list(csv.reader(fh))[1:]}
            q = (
                "SELECT s.customer_id, c.code, opening_pence, debits_pence, credits_pence, closing_pence,"
                " transactions FROM sl_statement_rec s JOIN sl_customer_rec c ON c.id = s.customer_id"
                " WHERE execution_id = :e"
            )
            return {int(r[0]): (*(int(v) for v in r[2:]), *aged[r[1]]) for r in conn.execute(text(q), e)}
        if name == "PL_PAYMENT_RUN":
            q = "SELECT supplier_id, amount_pence, discount_pence FROM pl_payment_rec WHERE run_key = :k"
            return {int(s): (int(a), int(d)) for s, a, d in conn.execute(text(q), {"k": f"PL_PAYMENT_RUN:{END}"})}
        if name == "ST_ABC_ANALYSIS":
            q = (
                "SELECT item_id, rank, consumption_qty, consumption_value_pence, cumulative_before_pence, abc_class"
                " FROM st_abc_result_rec WHERE execution_id = :e"
            )
            rows = conn.execute(text(q), e)
            return {int(i): (int(r), int(n), int(v), int(b), str(k)) for i, r, n, v, b, k in rows}
        if name == "ST_STOCK_VALUATION":
            q = "SELECT item_id, warehouse_id, value_pence FROM st_valuation_result_rec WHERE execution_id = :e"
            return {(int(i), int(w)): int(v) for i, w, v in conn.execute(text(q), e)} | {
                "control": int(result.totals["stock_control"])
            }
        if name == "ST_DEMAND_FORECAST":
            rows = conn.execute(
                select(ForecastResult.item_id, ForecastResult.method, ForecastResult.quantities).where(
                    ForecastResult.execution_id == execution_id
                )
            )
            return {int(i): (str(m), float(sum(q))) for i, m, q in rows}
    raise ValueError(f"no figures for {name}")


# ---------------------------------------------------------------------------------------------
# Children: one measurement each, in a fresh spawned interpreter.


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child_job(
    url: str, name: str, params: dict[str, Any], folder: str, figures: bool, *, warm_url: str | None = None
) -> dict[str, Any]:
    """One timed run of job ``name``. With ``warm_url``, the job runs there once first, untimed, on
    an engine that shares this one's compiled statements (the same database, or for the payment
    run another copy): the timed run is then a later run of a long-lived job process."""
    from sqlalchemy.util import LRUCache
    from tests.support.context import run_job

    from acas_batch.config import load_settings
    from acas_batch.jobs import load_standard_jobs

    load_standard_jobs()
    if name == "PL_PAYMENT_RUN":
        from acas_batch.batch.business_days import BusinessCalendar

        BusinessCalendar()  # the holidays package imports its countries on first use (0.2-0.7 s, once a worker)
    compiled: LRUCache[Any, Any] = LRUCache(500)  # an engine's own cache, shared by the warm-up's engine
    engine = job_process_engine(url).execution_options(compiled_cache=compiled)
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    settings = load_settings(environ={}, database_url=url, data_dir=Path(folder))
    if warm_url is not None:
        warm = engine if warm_url == url else job_process_engine(warm_url).execution_options(compiled_cache=compiled)
        supersede_earlier_runs(warm, name)
        done = run_job(warm, settings, name, now=NOW, business_date=END, params=params)
        if done.error is not None:
            raise RuntimeError(f"{name} failed warming up: {done.error!r}")
        if warm is not engine:
            warm.dispose()
        clear_earlier_snapshots(url, name)
    supersede_earlier_runs(engine, name)
    gc.freeze()  # as a worker's job process does once its modules are loaded
    began = time.perf_counter()
    done = run_job(engine, settings, name, now=NOW, business_date=END, params=params)
    seconds = time.perf_counter() - began
    peak = _peak_mb()
    if done.error is not None:
        raise RuntimeError(f"{name} failed: {done.error!r}")
    out = {"seconds": seconds, "peak_mb": peak, "state": str(done.state), "result": done.result}
    if figures:
        out["figures"] = job_figures(engine, name, done.execution_id, done.result)
    engine.dispose()
    return out


def supersede_earlier_runs(engine: Engine, name: str) -> None:
    """Earlier successes of the job marked superseded, as a forced rerun does, so the same
    database serves any number of runs (one live success per run key)."""
    from acas_batch.db import transaction
    from acas_batch.models import BatchExecution, BatchJob, ExecutionState

    with transaction(engine, write=True) as s:
        s.execute(
            update(BatchExecution)
            .where(
                BatchExecution.job_id.in_(select(BatchJob.id).where(BatchJob.name == name)),
                BatchExecution.state == ExecutionState.SUCCEEDED,
                BatchExecution.superseded_by_id.is_(None),
            )
            .values(superseded_by_id=BatchExecution.id)
        )


# The snapshot tables a job's rerun replaces (``replace_snapshot``): with ACAS_BENCH_LEDGER_RERUN
# unset the earlier runs' rows are deleted before each timed run (not timed), so it runs as the
# day's scheduled run does, with no earlier run of its key to replace.
SNAPSHOTS = {
    "ST_ABC_ANALYSIS": "st_abc_result_rec",
    "ST_STOCK_VALUATION": "st_valuation_result_rec",
    "ST_DEMAND_FORECAST": "st_forecast_result_rec",
}


def clear_earlier_snapshots(url: str, name: str) -> int:
    """Delete the rows earlier runs of job ``name`` left in its snapshot table; the count."""
    table = SNAPSHOTS.get(name)
    if table is None:
        return 0
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            earlier = "SELECT e.id FROM batch_execution_rec e JOIN batch_job_rec j ON j.id = e.job_id WHERE j.name = :n"
            result = conn.execute(text(f"DELETE FROM {table} WHERE execution_id IN ({earlier})"), {"n": name})
            return int(result.rowcount or 0)
    finally:
        engine.dispose()


def _child_baseline(url: str, name: str, warm: bool = False) -> dict[str, Any]:
    engine = job_process_engine(url)
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    if warm:  # run once untimed, as the job's child runs the job
        BASELINES[name](engine)
    # As the job's child: without it the baseline's own fetch pays the collector's passes over
    # every imported object (100-130 ms for 32,000 rows of six values).
    gc.freeze()
    began = time.perf_counter()
    figures = BASELINES[name](engine)
    seconds = time.perf_counter() - began
    if callable(figures):  # rows fetched, timed; put in the comparison's shape, not timed
        figures = figures()
    peak = _peak_mb()
    engine.dispose()
    return {"seconds": seconds, "peak_mb": peak, "figures": figures}


def _child_payment_writes(url: str) -> dict[str, Any]:
    engine = job_process_engine(url)
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    gc.freeze()  # as the job's child
    began = time.perf_counter()
    base_payment_writes(engine)
    seconds = time.perf_counter() - began
    peak = _peak_mb()
    engine.dispose()
    return {"seconds": seconds, "peak_mb": peak}


def _child_statement_writes(url: str, folder: str, warm: bool) -> dict[str, Any]:
    engine = job_process_engine(url)
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    csv_path = Path(folder) / "statement_writes.csv"
    if warm:  # once untimed, as the job's child runs the job: the documents are then recorded
        base_statement_writes(engine, csv_path)
    gc.freeze()  # as the job's child
    began = time.perf_counter()
    base_statement_writes(engine, csv_path)
    seconds = time.perf_counter() - began
    peak = _peak_mb()
    with engine.connect() as conn:
        written: Figures = {
            int(r[0]): tuple(int(v) for v in r[1:])
            for r in conn.execute(
                text(
                    "SELECT customer_id, opening_pence, debits_pence, credits_pence, closing_pence, transactions,"
                    " aged_0_pence, aged_1_pence, aged_2_pence, aged_3_pence, aged_4_pence, aged_5_pence"
                    " FROM sl_statement_rec WHERE run_key = :key"
                ),
                {"key": STATEMENT_WRITES_KEY},
            )
        }
        documents = conn.scalar(
            text("SELECT COUNT(*) FROM batch_document_rec WHERE run_key = :key"), {"key": STATEMENT_WRITES_KEY}
        )
    lines = sum(1 for _ in csv_path.open()) - 1
    engine.dispose()
    return {"seconds": seconds, "peak_mb": peak, "written": written, "documents": documents, "csv_lines": lines}


def _written(url: str) -> Figures:
    engine = make_engine(url)
    try:
        return written_payments(engine)
    finally:
        engine.dispose()


def _payment_writes(url: str, job_url: str) -> tuple[float, float, str, str | None]:
    """PL_PAYMENT_RUN's writing baseline on another copy, beside the job's run on ``job_url``: the
    baseline's seconds and peak MB, what both wrote compared supplier by supplier (its figure's
    name, and what differs or None)."""
    job_written = _written(job_url)
    copy_url, drop = _copy_database(url)
    try:
        base = _in_child(_child_payment_writes, copy_url)
        base_written = _written(copy_url)
    finally:
        drop()
    problem = _compare("PL_PAYMENT_RUN (written)", job_written, base_written)
    suppliers = len([k for k in base_written if isinstance(k, int)])
    figure = f"PL_PAYMENT_RUN writes ({suppliers:,} payments, {'WRITES DIFFER' if problem else 'writes equal'})"
    return base["seconds"], base["peak_mb"], figure, problem


def _in_child(fn: Callable[..., dict[str, Any]], *args: Any, **kwargs: Any) -> dict[str, Any]:
    # Forked by the forkserver, a small process of its own: a child's peak memory starts from
    # its parent's (Linux keeps the high-water mark across fork), which here would be this
    # process after reading every earlier run's figures.
    with multiprocessing.get_context("forkserver").Pool(1, maxtasksperchild=1) as pool:
        result: dict[str, Any] = pool.apply(fn, args, kwargs)
    return result


# ---------------------------------------------------------------------------------------------


def _copy_database(url: str) -> tuple[str, Callable[[], None]]:
    """A throwaway copy of the database (the payment run writes payments)."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        assert u.database
        copy = Path(tempfile.mkdtemp(prefix="acas-bench-pay-")) / "copy.db"
        shutil.copyfile(u.database, copy)
        return f"sqlite:///{copy}", lambda: shutil.rmtree(copy.parent, ignore_errors=True)
    name = f"acas_bench_pay_{uuid.uuid4().hex[:8]}"
    admin = make_engine(u.set(database="postgres").render_as_string(hide_password=False)).execution_options(
        isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{u.database}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return u.set(database=name).render_as_string(hide_password=False), drop


def _company(url: str, scale: float) -> str:
    engine = make_engine(url)
    upgrade(engine)
    if ledger_is_empty(engine):
        generate(engine, size=DemoSize.scaled(scale), end=END, seed=1)
    counts = {}
    with engine.connect() as conn:
        for table in ("sl_invoice_rec", "gl_journal_line_rec", "sl_customer_rec", "pl_supplier_rec", "st_item_rec"):
            counts[table] = int(conn.scalar(text(f"SELECT COUNT(*) FROM {table}")) or 0)
    engine.dispose()
    return (
        f"{make_url(url).get_backend_name()}: {counts['sl_invoice_rec']:,} sales invoices,"
        f" {counts['gl_journal_line_rec']:,} journal lines, {counts['sl_customer_rec']:,} customers,"
        f" {counts['pl_supplier_rec']:,} suppliers, {counts['st_item_rec']:,} items"
    )


def _vacuum_without_autovacuum(url: str) -> str | None:
    """PostgreSQL with autovacuum off: ``VACUUM ANALYZE`` first (not timed): a company just
    generated has never been vacuumed nor analysed. Between runs :func:`_autovacuum_between_runs`
    does what autovacuum would. Without either every rerun leaves the rows it replaced behind
    (the ABC snapshot table once reached 3 million dead rows, 329 MB, and its DELETE and INSERT
    slowed 2-3x)."""
    if make_url(url).get_backend_name() != "postgresql":
        return None
    engine = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            if conn.scalar(text("SHOW autovacuum")) == "on":
                return None
            began = time.perf_counter()
            conn.execute(text("VACUUM ANALYZE"))
            return f"autovacuum is off: VACUUM ANALYZE first, {time.perf_counter() - began:.1f} s (not timed)"
    finally:
        engine.dispose()


AUTOVACUUM_DUE = """
SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
WHERE s.n_dead_tup > current_setting('autovacuum_vacuum_threshold')::float8
        + current_setting('autovacuum_vacuum_scale_factor')::float8 * greatest(c.reltuples, 0)
   OR s.n_ins_since_vacuum > current_setting('autovacuum_vacuum_insert_threshold')::float8
        + current_setting('autovacuum_vacuum_insert_scale_factor')::float8 * greatest(c.reltuples, 0)
   OR s.n_mod_since_analyze > current_setting('autovacuum_analyze_threshold')::float8
        + current_setting('autovacuum_analyze_scale_factor')::float8 * greatest(c.reltuples, 0)
ORDER BY 1
"""


def _autovacuum_between_runs(url: str) -> list[str]:
    """PostgreSQL with autovacuum off: ``VACUUM ANALYZE`` (not timed) each table that autovacuum's
    own thresholds say is due, as it would between two runs a day apart. The tables vacuumed."""
    if make_url(url).get_backend_name() != "postgresql":
        return []
    engine = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            if conn.scalar(text("SHOW autovacuum")) == "on":
                return []
            due = list(conn.scalars(text(AUTOVACUUM_DUE)))
            for table in due:
                conn.execute(text(f'VACUUM ANALYZE "{table}"'))
            return due
    finally:
        engine.dispose()


def _same(a: Any, b: Any) -> bool:
    """Equal; forecast units (floats, written rounded to 0.001 per month) to within 0.01."""
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, abs_tol=0.01)
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _compare(name: str, job: Figures, base: Figures) -> str | None:
    """None when the job's figures equal the baseline's, else what differs."""
    differ = [(k, job[k], base[k]) for k in sorted(set(job) & set(base), key=str) if not _same(job[k], base[k])]
    if set(job) == set(base) and not differ:
        return None
    missing = sorted(set(base) - set(job), key=str)[:3]
    extra = sorted(set(job) - set(base), key=str)[:3]
    return (
        f"{name}: the job's figures differ from the baseline's ({len(job)} vs {len(base)} keys);"
        f" only in baseline {missing}, only in job {extra}, different (key, job, baseline) {differ[:3]}"
    )


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "?"


def run() -> list[tuple[str, str]]:
    scale = float(os.environ.get("ACAS_BENCH_LEDGER_SCALE", "2"))
    folder = tempfile.mkdtemp(prefix="acas-bench-ledger-")
    url = os.environ.get("ACAS_BENCH_LEDGER_URL") or f"sqlite:///{Path(folder) / 'ledger.db'}"
    names = [n.strip() for n in os.environ.get("ACAS_BENCH_LEDGER_JOBS", ",".join(JOBS)).split(",") if n.strip()]
    pdfs = int(os.environ.get("ACAS_BENCH_LEDGER_STATEMENT_PDF", "30"))
    runs = int(os.environ.get("ACAS_BENCH_LEDGER_RUNS", "1"))
    rerun = os.environ.get("ACAS_BENCH_LEDGER_RERUN", "") not in ("", "0")
    warm = os.environ.get("ACAS_BENCH_LEDGER_WARM", "") not in ("", "0")
    if runs < 1:
        raise ValueError(f"ACAS_BENCH_LEDGER_RUNS must be at least 1, not {runs}")
    out: list[tuple[str, str]] = []
    problems: list[str] = []
    _row(out, "company", _company(url, scale))
    vacuumed = _vacuum_without_autovacuum(url)
    if vacuumed:
        _row(out, "vacuum", vacuumed)
    for name in names:
        if name not in BASELINES:
            raise ValueError(f"ACAS_BENCH_LEDGER_JOBS: unknown job {name!r}; known: {', '.join(JOBS)}")
        load = _load()
        bases: list[dict[str, Any]] = []
        jobs: list[dict[str, Any]] = []
        writes: list[float] = []
        writes_figure, writes_mb = "", 0.0
        vacuumed_between: set[str] = set()
        for _ in range(runs):  # baseline and job alternately, so both see the same load
            if not rerun:
                clear_earlier_snapshots(url, name)
            vacuumed_between.update(_autovacuum_between_runs(url))
            bases.append(_in_child(_child_baseline, url, name, warm))
            drops = []
            job_url, warm_url = url, url if warm else None
            if name == "PL_PAYMENT_RUN":
                job_url, drop = _copy_database(url)
                drops.append(drop)
                if warm:  # the warm-up pays too: on a copy of its own
                    warm_url, drop = _copy_database(url)
                    drops.append(drop)
            try:
                jobs.append(_in_child(_child_job, job_url, name, PARAMS[name], folder, True, warm_url=warm_url))
                if name == "PL_PAYMENT_RUN":  # its writing baseline each run too, for the medians
                    seconds, peak, figure, wrong = _payment_writes(url, job_url)
                    writes.append(seconds)
                    writes_figure, writes_mb = figure, max(writes_mb, peak)
                    if wrong:
                        problems.append(wrong)
                if name == "SL_STATEMENT_GENERATION":  # and the statements' writing baseline
                    done = _in_child(_child_statement_writes, url, folder, warm)
                    writes.append(done["seconds"])
                    writes_mb = max(writes_mb, done["peak_mb"])
                    n = len(done["written"])
                    wrong = _compare("SL_STATEMENT_GENERATION (written)", jobs[-1]["figures"], done["written"])
                    if not wrong and (done["documents"], done["csv_lines"]) != (n, n):
                        wrong = (
                            f"statement writes: {done['documents']} documents and {done['csv_lines']} CSV lines for {n}"
                        )
                    if wrong:
                        problems.append(wrong)
                    writes_figure = (
                        f"SL_STATEMENT_GENERATION writes ({n:,} statements, their CSV and document records,"
                        f" {'WRITES DIFFER' if wrong else 'writes equal'})"
                    )
            finally:
                for drop in drops:
                    drop()
            problem = _compare(name, jobs[-1].pop("figures"), bases[-1]["figures"])
            rows = len([k for k in bases[-1].pop("figures") if k != "control"])
            if problem:
                problems.append(problem)
                break
        job, base = _median_run(jobs), _median_run(bases)
        ratio = job["seconds"] / base["seconds"] if base["seconds"] else float("inf")
        each = ""
        if len(jobs) > 1:
            each = "; each run " + ", ".join(
                f"{j['seconds']:.2f}/{b['seconds']:.2f} s {j['peak_mb']:.0f}/{b['peak_mb']:.0f} MB"
                for j, b in zip(jobs, bases, strict=True)
            )
        mode = "; reruns replacing the last run's snapshot" if rerun and name in SNAPSHOTS else ""
        mode += "; warmed: each timed after one untimed run in its process" if warm else ""
        _row(
            out,
            f"{name} ({rows:,} rows, {'FIGURES DIFFER' if problem else 'figures equal'}; load {load}{mode})",
            f"job {job['seconds']:.2f} s / {job['peak_mb']:.0f} MB;"
            f" SQL {base['seconds']:.2f} s / {base['peak_mb']:.0f} MB; ratio {ratio:.2f}"
            + (f" (medians of {len(jobs)} runs{each})" if len(jobs) > 1 else ""),
        )
        if vacuumed_between:
            _row(out, f"{name} autovacuum between runs", ", ".join(sorted(vacuumed_between)))
        if writes:
            job_s, base_s = job["seconds"], sorted(writes)[len(writes) // 2]
            _row(
                out,
                writes_figure,
                f"job {job_s:.2f} s; hand-written SQL writing the same {base_s:.2f} s / {writes_mb:.0f} MB;"
                f" ratio {job_s / base_s:.2f}" + (f" (medians of {len(writes)} runs)" if len(writes) > 1 else ""),
            )
        if name == "SL_STATEMENT_GENERATION" and pdfs:
            _row(out, *_statement_pdfs(url, folder, pdfs))
    shutil.rmtree(folder, ignore_errors=True)
    if problems:
        raise AssertionError("\n".join(problems))
    return out


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run of median wall time (the upper middle one of an even number); peak memory the highest seen."""
    ordered = sorted(runs, key=lambda r: r["seconds"])
    return {**ordered[len(ordered) // 2], "peak_mb": max(r["peak_mb"] for r in runs)}


def _row(out: list[tuple[str, str]], figure: str, value: str) -> None:
    """Keep a figure, and show it at once on stderr (a full-size run takes long)."""
    out.append((figure, value))
    print(f"# {figure}: {value}", file=sys.stderr, flush=True)


def _child_pdfs(url: str, folder: str, count: int) -> dict[str, Any]:
    """The first ``count`` statements laid out as the job does (chunks, one PDF per customer),
    in this process and in a pool of two worker processes (its start-up included)."""
    from acas_batch.analysis.ageing import DEFAULT_BOUNDS, bucket_labels
    from acas_batch.jobs.sl.statement_generation import PDF_SET_CHUNK, render_statements
    from acas_batch.reports.pool import ProcessPool
    from benchmarks.statements import first_statements

    _, statements = first_statements(url, END, count)
    context = {
        "company": "",
        "start": PREVIOUS[0],
        "end": PREVIOUS[1],
        "labels": bucket_labels(DEFAULT_BOUNDS),
    }
    size = min(PDF_SET_CHUNK, max(1, len(statements) // 4))  # at least four chunks for two processes
    chunks = [statements[i : i + size] for i in range(0, len(statements), size)]

    def paths(tag: str, chunk: list[Any]) -> list[str]:
        return [str(Path(folder) / f"{tag}_{st.code}.pdf") for st in chunk]

    if statements:  # the first render reads the fonts: warm up outside the timing
        render_statements(statements[:1], paths("warm-up", statements[:1]), context)
    began = time.perf_counter()
    for chunk in chunks:
        render_statements(chunk, paths("one", chunk), context)
    seconds = time.perf_counter() - began
    began = time.perf_counter()
    with ProcessPool(2) as pool:
        for future in [pool.submit(render_statements, chunk, paths("two", chunk), context) for chunk in chunks]:
            future.result()
    pool_seconds = time.perf_counter() - began
    return {
        "seconds": seconds,
        "pool_seconds": pool_seconds,
        "count": len(statements),
        "chunk": size,
        "peak_mb": _peak_mb(),
    }


def _statement_pdfs(url: str, folder: str, count: int) -> tuple[str, str]:
    r = _in_child(_child_pdfs, url, folder, count)
    n = max(r["count"], 1)
    return (
        f"SL_STATEMENT_GENERATION PDF part: {r['count']} statements in chunks of {r['chunk']}",
        f"1 process {r['seconds']:.2f} s = {n / r['seconds']:.1f} statements/s;"
        f" 2 processes (start-up included) {r['pool_seconds']:.2f} s = {n / r['pool_seconds']:.1f} statements/s;"
        f" peak {r['peak_mb']:.0f} MB in the main process",
    )


if __name__ == "__main__":
    for figure, value in run():
        print(f"{figure}: {value}")
