"""Secret job parameters, encrypted at rest (Fernet: AES-128-CBC with HMAC-SHA256, from ``cryptography``).

A sealed value is the text ``enc:v1:<token>``: it is what ``batch_execution_rec.params`` (and every copy
of it: retries, reruns, backups, exports, audit rows) holds, and masking shows it as ``••••``. Only the
job's own process opens it, just before the job's parameter model is built.

The key, first found wins:
1. ``ACAS_SECRET_KEY`` (a Fernet key: 32 random bytes, url-safe base64);
2. the file named by ``ACAS_SECRET_KEY_FILE``;
3. ``<data_dir>/secret.key``, created by ``acas-batch init`` (or on first need) readable by its owner only.
A key file may hold several keys, newest first: values sealed by any of them open, new values are sealed
by the first. ``rotate_key_file`` writes a new key in front, and once every value is re-sealed, drops the rest.

This module sits below the engine (which seals and opens) for that reason, not under ``security/``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from acas_batch.config import Settings
from acas_batch.errors import ValidationError

PREFIX = "enc:v1:"
KEY_FILE_NAME = "secret.key"


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def key_file(settings: Settings) -> Path:
    """The key file in use (``ACAS_SECRET_KEY_FILE`` or the data folder's ``secret.key``)."""
    return settings.secret_key_file or settings.data_dir / KEY_FILE_NAME


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, readable and writable by its owner only (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def ensure_key_file(settings: Settings) -> Path | None:
    """Create the key file with a fresh key if no key is configured and none exists (returns it if created)."""
    if settings.secret_key:
        return None
    path = key_file(settings)
    if path.exists():
        return None
    write_private(path, Fernet.generate_key().decode() + "\n")
    return path


def _keys(settings: Settings, *, create: bool) -> list[bytes]:
    if settings.secret_key:
        return [settings.secret_key.strip().encode()]
    path = key_file(settings)
    if not path.exists():
        if not create:
            raise ValidationError(
                f"no secret key: set ACAS_SECRET_KEY or ACAS_SECRET_KEY_FILE, or run `acas-batch init` ({path})"
            )
        ensure_key_file(settings)
    keys = [line.strip().encode() for line in path.read_text().splitlines() if line.strip()]
    if not keys:
        raise ValidationError(f"the secret key file {path} holds no key")
    return keys


@dataclass(frozen=True)
class SecretBox:
    """Seals and opens secret values with the installation's key(s)."""

    fernet: MultiFernet

    @classmethod
    def for_settings(cls, settings: Settings, *, create: bool = True) -> SecretBox:
        try:
            return cls(MultiFernet([Fernet(k) for k in _keys(settings, create=create)]))
        except ValueError:
            raise ValidationError("the secret key is not a valid Fernet key (32 url-safe base64 bytes)") from None

    def seal(self, clear: str) -> str:
        return PREFIX + self.fernet.encrypt(clear.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self.fernet.decrypt(sealed.removeprefix(PREFIX).encode()).decode()
        except InvalidToken:
            raise ValidationError("a secret parameter cannot be decrypted with the configured key") from None

    def reseal(self, sealed: str) -> str:
        """The same clear value sealed by the newest key."""
        try:
            return PREFIX + self.fernet.rotate(sealed.removeprefix(PREFIX).encode()).decode()
        except InvalidToken:
            raise ValidationError("a secret parameter cannot be decrypted with the configured key") from None


def reseal_all(value: Any, box: SecretBox) -> tuple[Any, int]:
    """``value`` (JSON) with every sealed string re-sealed by the newest key, and how many were."""
    if is_sealed(value):
        return box.reseal(value), 1
    if isinstance(value, dict):
        out, n = {}, 0
        for k, v in value.items():
            out[k], m = reseal_all(v, box)
            n += m
        return out, n
    if isinstance(value, list):
        items, n = [], 0
        for v in value:
            item, m = reseal_all(v, box)
            items.append(item)
            n += m
        return items, n
    return value, 0


def new_key_first(settings: Settings) -> list[str]:
    """Put a new key in front of the key file (old keys kept so every value still opens). Returns the keys."""
    if settings.secret_key:
        raise ValidationError(
            "the secret key comes from ACAS_SECRET_KEY: rotate it where it is kept (or move it to a key file)"
        )
    old = [k.decode() for k in _keys(settings, create=True)]
    keys = [Fernet.generate_key().decode(), *old]
    write_private(key_file(settings), "\n".join(keys) + "\n")
    return keys


def keep_only(settings: Settings, keys: Iterable[str]) -> None:
    write_private(key_file(settings), "\n".join(keys) + "\n")
