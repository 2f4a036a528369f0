"""S/MIME: mail to a recipient whose certificate is configured leaves encrypted (a real local
SMTP server; keys and certificates made by the test); others get it as before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

from acas_batch.config import load_settings
from acas_batch.models import NotificationOutbox
from acas_batch.monitoring.monitor import deliverer_for
from acas_batch.monitoring.notify import DeliveryError
from acas_batch.monitoring.outbox import Deliverer
from tests.integration.conftest import Inbox
from tests.support.certificates import self_signed

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SECRET_LINE = "GL_PERIOD_CLOSE failed: control account 1100 differs by 1,234.56"


def _recipient(folder: Path, address: str) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    """A key pair and certificate for ``address``, the certificate filed as ``<address>.pem``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.EMAIL_ADDRESS, address)])
    cert = self_signed(key, name, valid_from=NOW - timedelta(days=1), valid_until=NOW + timedelta(days=365))
    (folder / f"{address}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def _row(recipients: list[str]) -> NotificationOutbox:
    return NotificationOutbox(
        idempotency_key="alert:42",
        kind="alert",
        channel="email",
        recipients=recipients,
        subject="[ACAS batch CRITICAL] GL_PERIOD_CLOSE failed",
        body=SECRET_LINE,
        attachment_name="statement.pdf",
        attachment_type="application/pdf",
        attachment=b"%PDF-1.7 the customer's statement",
        created_at=NOW,
    )


def _deliverer(port: int, folder: Path) -> Deliverer:
    """The installation's sender, the certificates' folder named by ACAS_SMIME_CERT_DIR."""
    settings = load_settings(
        environ={"ACAS_SMIME_CERT_DIR": str(folder)},
        data_dir=folder,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_tls="none",
    )
    return deliverer_for(settings)


def test_a_recipient_with_a_certificate_gets_the_body_and_attachment_encrypted_others_in_clear(
    smtp: tuple[Inbox, int], tmp_path: Path
) -> None:
    inbox, port = smtp
    # Given a certificate for the finance director and none for the office
    cert, key = _recipient(tmp_path, "fd@office.example")
    # When an alert with an attachment goes to both
    _deliverer(port, tmp_path).send(_row(["fd@office.example", "office@office.example"]))
    # Then the director's copy is an S/MIME envelope that hides the text and the attachment
    sealed = next(m for m, to in zip(inbox.messages, inbox.envelopes, strict=True) if to == ["fd@office.example"])
    assert sealed.get_content_type() == "application/pkcs7-mime"
    assert sealed["Subject"] == "[ACAS batch CRITICAL] GL_PERIOD_CLOSE failed"
    raw = sealed.as_bytes()
    assert b"control account" not in raw and b"%PDF" not in raw
    # and the director's key opens it to the original message, attachment included
    opened = message_from_bytes(pkcs7.pkcs7_decrypt_smime(raw, cert, key, []), policy=policy.default)
    assert SECRET_LINE in opened.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    (part,) = list(opened.iter_attachments())  # type: ignore[attr-defined]
    assert part.get_filename() == "statement.pdf" and part.get_content() == b"%PDF-1.7 the customer's statement"
    # And the office, without a certificate, gets its copy as before
    plain = next(m for m, to in zip(inbox.messages, inbox.envelopes, strict=True) if to == ["office@office.example"])
    assert SECRET_LINE in plain.get_body(("plain",)).get_content()
    assert len(inbox.messages) == 2


def test_an_unreadable_certificate_stops_the_message_rather_than_sending_it_in_clear(
    smtp: tuple[Inbox, int], tmp_path: Path
) -> None:
    inbox, port = smtp
    (tmp_path / "fd@office.example.pem").write_text("not a certificate")
    with pytest.raises(DeliveryError, match="S/MIME certificate") as refused:
        _deliverer(port, tmp_path).send(_row(["fd@office.example"]))
    assert refused.value.permanent
    assert inbox.messages == []
