"""Execution logs: filtering and search, export, and error-pattern detection."""

from __future__ import annotations

from acas_batch.logs.export import ExportFormat, export_logs
from acas_batch.logs.patterns import LogPattern, detect_patterns, signature
from acas_batch.logs.query import LogEntry, LogFilter, LogPage, iter_logs, parse_filter, query_logs, query_page

__all__ = [
    "ExportFormat",
    "LogEntry",
    "LogFilter",
    "LogPage",
    "LogPattern",
    "detect_patterns",
    "export_logs",
    "iter_logs",
    "parse_filter",
    "query_logs",
    "query_page",
    "signature",
]
