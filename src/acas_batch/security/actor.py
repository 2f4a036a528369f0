"""Who is acting: the one value every service function receives and the audit trail records."""

from __future__ import annotations

import getpass
import os
import socket
from dataclasses import dataclass, field, replace

#: Faces an actor can come through.
FACES = ("cli", "web", "api", "python", "system")


def os_user() -> str:
    """The operating-system user running this process (never fails: ``uid:<n>`` without a name)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        return f"uid:{os.getuid()}"


def host_name() -> str:
    """This machine's name."""
    return socket.gethostname()


@dataclass(frozen=True)
class Actor:
    """An authenticated user (or the system itself) with the permissions of their role.

    ``modules`` scopes the run and control permissions to job modules (``GL``, ``SL`` ...);
    None means every module. ``face`` is how the actor came in; ``os_user``, ``host`` and
    ``client_addr`` are recorded in the audit trail with every action.
    """

    username: str
    role: str
    permissions: frozenset[str]
    modules: frozenset[str] | None
    face: str
    user_id: int | None = None
    os_user: str | None = field(default=None)
    host: str | None = field(default=None)
    client_addr: str | None = field(default=None)
    #: The IANA zone this user reads times in; None: the company's.
    zone: str | None = field(default=None)

    @classmethod
    def system(cls) -> Actor:
        """The scheduler, worker and monitor acting on their own (every permission)."""
        from acas_batch.security.policy import ALL_PERMISSIONS

        return cls(
            username="system",
            role="system",
            permissions=ALL_PERMISSIONS,
            modules=None,
            face="system",
            os_user=os_user(),
            host=host_name(),
        )

    @classmethod
    def console(cls, face: str = "cli") -> Actor:
        """The local administrator console: whoever can write the database directly.

        Such a person can change any row anyway, so they get the administrator's role; the
        audit trail records their operating-system user and host.
        """
        from acas_batch.security.policy import ALL_PERMISSIONS

        user = os_user()
        return cls(
            username=f"console:{user}"[:64],
            role="admin",
            permissions=ALL_PERMISSIONS,
            modules=None,
            face=face,
            os_user=user,
            host=host_name(),
        )

    def with_face(self, face: str, *, client_addr: str | None = None) -> Actor:
        """The same actor coming through ``face`` (from ``client_addr``)."""
        return replace(self, face=face, client_addr=client_addr if client_addr is not None else self.client_addr)

    def __str__(self) -> str:
        return self.username
