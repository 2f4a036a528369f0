"""Acknowledge/resolve links: signed, expiring; a forged or altered one is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from acas_batch.errors import ValidationError
from acas_batch.monitoring.links import sign, verify

KEY = b"k" * 32
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def test_a_genuine_link_names_its_alert_action_and_nonce() -> None:
    claim = verify(KEY, sign(KEY, 42, "ack", NOW + timedelta(hours=1), nonce="n1"), now=NOW)
    assert (claim.alert_id, claim.action, claim.nonce) == (42, "ack", "n1")


def test_altered_forged_and_expired_links_are_refused() -> None:
    token = sign(KEY, 42, "ack", NOW + timedelta(hours=1))
    sig = token.split(".")[1]
    other = sign(KEY, 43, "resolve", NOW + timedelta(hours=1)).split(".")[0]
    with pytest.raises(ValidationError, match="signature"):
        verify(KEY, f"{other}.{sig}", now=NOW)  # another alert's payload under this signature
    with pytest.raises(ValidationError, match="signature"):
        verify(b"x" * 32, token, now=NOW)  # made by another installation
    with pytest.raises(ValidationError, match="expired"):
        verify(KEY, token, now=NOW + timedelta(hours=2))
    with pytest.raises(ValidationError, match="malformed"):
        verify(KEY, "not-a-token", now=NOW)
