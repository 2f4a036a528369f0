"""The 32 standard jobs, one module per ledger."""

from __future__ import annotations
