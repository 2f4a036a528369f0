"""Files written whole or not at all: a temporary name in the same folder, synced, then renamed."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from acas_batch.errors import OutputError
from acas_batch.fileperms import FILE_MODE, private_dir, private_file


@contextmanager
def atomic_file(path: Path, mode: str = "wb", **kwargs: Any) -> Iterator[IO[Any]]:
    """A file opened under a temporary name in ``path``'s folder and renamed into place on success.

    Its data is synced before the rename and the folder after it, so once this returns the
    file is whole on disk under its final name and survives a power cut; until then the final
    name holds what it held before (or nothing). On any failure the temporary file is removed.
    A disk that is full or a folder that cannot be written raises :class:`OutputError` naming
    the file and the system's reason.
    """
    try:
        private_dir(path.parent)
    except OSError as exc:
        raise OutputError(f"cannot create the output folder {path.parent}: {exc.strerror or exc}") from exc
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        try:
            # created 0600: never readable by others, not even empty
            fh = os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE), mode, **kwargs)
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
        with _file_errors(path), fh:
            private_file(tmp)
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        with _file_errors(path):
            os.replace(tmp, path)
            _sync_folder(path.parent)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


@contextmanager
def _file_errors(path: Path) -> Iterator[None]:
    """The file system's errors while writing ``path`` (disk full, quota, I/O) as one line."""
    try:
        yield
    except OutputError:
        raise
    except OSError as exc:
        if exc.filename is not None and Path(exc.filename) != path.with_name(f".{path.name}.tmp{os.getpid()}"):
            raise  # another file's error, raised by the caller's own code
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _sync_folder(folder: Path) -> None:
    """Sync a folder's entries (a rename into it), where the system allows opening a folder."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class AtomicFiles:
    """Many whole files written as :func:`atomic_file` writes one, their syncs together.

    Each file goes to a temporary name in its folder; the files are synced, renamed into
    place, and then each folder is synced once. A final name therefore only ever holds a
    whole, synced file, as with :func:`atomic_file`, at a fraction of the cost of syncing each
    file and its folder in turn. With ``batch``, every ``batch`` files are synced and renamed
    by a thread of their own while the next are made (waiting for the disk costs no CPU).
    Anything not committed is removed. Use it through :func:`atomic_files`.
    """

    def __init__(self, batch: int = 0) -> None:
        self._pending: list[tuple[Path, Path, int]] = []
        self._folders: set[Path] = set()
        self._batch = batch
        self._syncer = ThreadPoolExecutor(1, thread_name_prefix="acas-sync") if batch else None
        self._syncing: list[Future[None]] = []

    def write(self, path: Path, data: bytes) -> None:
        """``data`` to ``path`` once committed."""
        if path.parent not in self._folders:
            try:
                private_dir(path.parent)
            except OSError as exc:
                raise OutputError(f"cannot create the output folder {path.parent}: {exc.strerror or exc}") from exc
            self._folders.add(path.parent)
        tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)  # 0600 from the start
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
        self._pending.append((path, tmp, fd))
        with _file_errors(path):
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        if self._syncer is not None and len(self._pending) >= self._batch:
            files, self._pending = self._pending, []
            self._syncing.append(self._syncer.submit(_sync_and_rename, files))

    def commit(self) -> None:
        """Sync every file written, rename each into place, sync their folders."""
        files, self._pending = self._pending, []
        _sync_and_rename(files)
        for future in self._syncing:
            future.result()
        for folder in self._folders:
            _sync_folder(folder)

    def discard(self) -> None:
        """Remove what was not committed (waiting for the files being synced)."""
        if self._syncer is not None:
            self._syncer.shutdown(wait=True)
        _remove(self._pending)
        self._pending = []


def _sync_and_rename(files: list[tuple[Path, Path, int]]) -> None:
    try:
        for path, _, fd in files:
            with _file_errors(path):
                os.fsync(fd)
        while files:
            path, tmp, fd = files[0]
            os.close(fd)
            with _file_errors(path):
                os.replace(tmp, path)
            files.pop(0)
    finally:
        _remove(files)


def _remove(files: list[tuple[Path, Path, int]]) -> None:
    for _, tmp, fd in files:
        with contextlib.suppress(OSError):
            os.close(fd)
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


@contextmanager
def atomic_files(batch: int = 0) -> Iterator[AtomicFiles]:
    """Files written whole or not at all, synced and renamed into place (every ``batch`` files
    in the background, the rest) when the block ends without error."""
    files = AtomicFiles(batch)
    try:
        yield files
        files.commit()
    finally:
        files.discard()
