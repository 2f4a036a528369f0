"""The accounting data the jobs work on, and the posting rules that keep it double-entry."""

from __future__ import annotations
