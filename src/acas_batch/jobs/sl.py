"""The sales ledger jobs; each lives in its own module, imported here so they register."""

from __future__ import annotations

from acas_batch.jobs import sl_ageing, sl_commission, sl_credit, sl_reminders, sl_statements, sl_vat

__all__ = ["sl_ageing", "sl_commission", "sl_credit", "sl_reminders", "sl_statements", "sl_vat"]
