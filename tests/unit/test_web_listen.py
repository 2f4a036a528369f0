"""The dashboard listens on loopback unless TLS or --insecure says otherwise."""

from __future__ import annotations

import pytest

from acas_batch.errors import ConfigError
from acas_batch.web.server import check_listen, is_loopback
from acas_batch.web.times import duration, local_time


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"])
def test_loopback_addresses_need_nothing(host: str) -> None:
    assert is_loopback(host)
    check_listen(host, tls=False, insecure=False)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "::", "example.org"])
def test_other_addresses_need_tls_or_insecure(host: str) -> None:
    with pytest.raises(ConfigError, match="without TLS"):
        check_listen(host, tls=False, insecure=False)
    check_listen(host, tls=True, insecure=False)
    check_listen(host, tls=False, insecure=True)


def test_times_say_gmt_or_bst() -> None:
    from datetime import UTC, datetime

    assert local_time(datetime(2026, 1, 15, 12, 0, tzinfo=UTC), "Europe/London") == "2026-01-15 12:00:00 GMT"
    assert local_time(datetime(2026, 7, 15, 12, 0, tzinfo=UTC), "Europe/London") == "2026-07-15 13:00:00 BST"
    assert duration(850) == "850 ms" and duration(185_000) == "3 min 05 s"
