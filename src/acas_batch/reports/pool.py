"""A small pool of worker processes for laying out documents (WeasyPrint is single-threaded).

A job runs in a daemonic process (``batch.worker``), and ``multiprocessing`` does not let a
daemonic process have children; so the workers are plain subprocesses
(``python -m acas_batch.reports.pool``) fed pickled calls on their standard input and
answering on their standard output. A worker whose parent dies (a job killed at its time
limit) reads end of file and exits: no orphan keeps rendering.
"""

from __future__ import annotations

import os
import pickle
import queue
import struct
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import IO, Any, TypeVar

T = TypeVar("T")

_HEADER = struct.Struct("!Q")


def _send(stream: IO[bytes], value: Any) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _receive(stream: IO[bytes]) -> Any:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError("the other end closed the pipe")
    (size,) = _HEADER.unpack(header)
    return pickle.loads(stream.read(size))


class ProcessPool:
    """``workers`` subprocesses, each running one call at a time; ``submit`` returns a future.

    The calls and their arguments are pickled, so the function must be importable by name
    (a module-level function). An exception raised in a worker is raised by the future.
    """

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError(f"a pool needs at least one worker, not {workers}")
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        self._processes = [
            subprocess.Popen(
                [sys.executable, "-m", "acas_batch.reports.pool"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=env,
            )
            for _ in range(workers)
        ]
        self._idle: queue.SimpleQueue[subprocess.Popen[bytes]] = queue.SimpleQueue()
        for process in self._processes:
            self._idle.put(process)
        self._threads = ThreadPoolExecutor(workers, thread_name_prefix="acas-pool")

    def _call(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        process = self._idle.get()
        try:
            assert process.stdin is not None and process.stdout is not None
            _send(process.stdin, (fn, args))
            ok, value = _receive(process.stdout)
        finally:
            self._idle.put(process)
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        return self._threads.submit(self._call, fn, args)

    def close(self) -> None:
        """Wait for the calls under way, then let the workers exit (end of their input)."""
        self._threads.shutdown(wait=True, cancel_futures=True)
        for process in self._processes:
            if process.stdin is not None:
                process.stdin.close()
        for process in self._processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()

    def __enter__(self) -> ProcessPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _serve() -> None:
    """A worker: run pickled calls from standard input until it closes."""
    channel_in, channel_out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not corrupt the answers
    while True:
        try:
            fn, args = _receive(channel_in)
        except EOFError:
            # Every answer is sent and every file closed: leave at once (an interpreter's
            # orderly exit, collecting what the calls loaded, took seconds on a busy machine).
            sys.stderr.flush()
            os._exit(0)
        try:
            answer: tuple[bool, Any] = (True, fn(*args))
        except Exception as error:  # handed back to the caller, who raises it
            answer = (False, error)
        try:
            _send(channel_out, answer)
        except (pickle.PicklingError, TypeError, AttributeError) as error:
            _send(channel_out, (False, RuntimeError(f"unpicklable answer from {fn!r}: {error}")))


if __name__ == "__main__":
    _serve()
