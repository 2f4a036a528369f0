"""Users, roles, permissions and the audit trail."""

from __future__ import annotations
