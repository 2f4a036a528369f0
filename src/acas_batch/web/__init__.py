"""The web face: the dashboard, the REST API under ``/api/v1`` and ``/metrics`` (FastAPI)."""
