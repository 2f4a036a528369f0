"""Certificates for tests: a key's certificate signed by itself, as a test's own CA or an
S/MIME recipient's certificate."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes


def self_signed(
    key: CertificateIssuerPrivateKeyTypes,
    name: x509.Name,
    *,
    valid_from: datetime,
    valid_until: datetime,
    extensions: Sequence[tuple[x509.ExtensionType, bool]] = (),
) -> x509.Certificate:
    """The certificate of ``key`` for ``name``, issued by ``name`` itself and signed with SHA-256;
    ``extensions`` are (extension, critical) pairs."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid_from)
        .not_valid_after(valid_until)
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical)
    return builder.sign(key, hashes.SHA256())
