"""S/MIME encryption of outgoing mail for the recipients whose certificate is configured.

A folder (``ACAS_SMIME_CERT_DIR``) holds one PEM certificate per address, named
``<address>.pem`` in lower case. Mail to an address with a certificate leaves as an
``application/pkcs7-mime`` enveloped message (AES-256-CBC, the key wrapped for each
recipient's RSA key by ``cryptography``'s PKCS7 envelope builder): only the holder of the
private key reads the body and the attachment. Recipients without a certificate get the
message as before; TLS protects every message in transport either way. The outer headers
(subject, sender, recipients, date, message id) stay readable, as S/MIME has it.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.serialization import pkcs7

from acas_batch.monitoring.notify import DeliveryError, smime_certificate_path

#: Headers that describe the content: they go inside the envelope; the rest stay outside.
_CONTENT_HEADERS = ("content-type", "content-transfer-encoding", "content-disposition", "mime-version")


def split(folder: Path | None, recipients: Sequence[str]) -> tuple[dict[str, Path], list[str]]:
    """The recipients with a certificate (address → its file) and those without."""
    sealed: dict[str, Path] = {}
    plain: list[str] = []
    for address in recipients:
        path = smime_certificate_path(folder, address)
        if path is None:
            plain.append(address)
        else:
            sealed[address] = path
    return sealed, plain


def seal(msg: EmailMessage, certificates: Sequence[Path]) -> EmailMessage:
    """``msg`` with its content encrypted for the holders of ``certificates``.

    Raises:
        DeliveryError: (permanent) a certificate file is not a readable PEM certificate; the
            message is not sent in clear instead.
    """
    builder = pkcs7.PKCS7EnvelopeBuilder().set_content_encryption_algorithm(algorithms.AES256)
    for path in certificates:
        try:
            builder = builder.add_recipient(x509.load_pem_x509_certificate(path.read_bytes()))
        except (OSError, ValueError) as exc:
            raise DeliveryError(f"S/MIME certificate {path} cannot be used: {exc}", permanent=True) from exc
    inner = copy.deepcopy(msg)
    for name in {k.lower() for k in inner}:
        if name not in _CONTENT_HEADERS:
            del inner[name]
    del inner["mime-version"]
    data = inner.as_bytes(policy=policy.SMTP)
    sealed = builder.set_data(data).encrypt(serialization.Encoding.SMIME, [pkcs7.PKCS7Options.Binary])
    out = message_from_bytes(sealed, _class=EmailMessage, policy=policy.default)
    assert isinstance(out, EmailMessage)
    for name, value in msg.items():
        if name.lower() not in _CONTENT_HEADERS:
            out[name] = value
    return out
