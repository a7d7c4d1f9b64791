"""A local worker process's entry point: `python -m harness.runs.worker_main FD`.

The local executor starts workers this way rather than with multiprocessing's "spawn", which
re-runs the user's `__main__` in every worker: a script, `python - <<EOF` or a notebook calling
`harness.run` without an `if __name__ == "__main__":` guard would start a run of its own in each.

Stdin brings length-prefixed pickles (`frame`): first the parent's `sys.path` (so plug-in
backends import as they do there), then jobs, one after another, each with the path of its log;
messages go back through the inherited pipe FD, a job's last one ('done', id). A worker thus
serves several jobs of one backend and runtime config, its framework imported and warmed once.
Stdin stays open as long as the parent wants the worker: its end while the worker waits for a
job is a clean exit; its end during a job means the parent died, and the worker exits at once,
so none is left orphaned.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import struct
import sys
import threading
from multiprocessing.connection import Connection

ORPHANED_EXIT = 70  # the parent is gone: nobody reads this code, it only marks the log's end
HEADER = struct.Struct("!Q")  # a frame's length, before its bytes


def frame(obj: object) -> bytes:
    """One stdin message: a pickle read back whole, however the pipe splits it."""
    data = pickle.dumps(obj)
    return HEADER.pack(len(data)) + data


def _read_exact(fd: int, size: int) -> bytes | None:
    chunks = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int) -> bytes | None:
    """The next frame's pickle from the bare FD (None at EOF). The bare FD, not `sys.stdin.buffer`:
    a thread blocked inside a buffered stream holds its lock, and Python aborts at exit on it."""
    header = _read_exact(fd, HEADER.size)
    return None if header is None else _read_exact(fd, HEADER.unpack(header)[0])


class Inbox:
    """Jobs from stdin, read by one thread for the worker's whole life, so stdin's EOF is seen
    during a job (the parent died: exit now) as well as between jobs (no more work: exit cleanly)."""

    def __init__(self, fd: int) -> None:
        self.fd, self.frames = fd, queue.SimpleQueue()
        self.lock, self.busy, self.closed = threading.Lock(), False, False

    def read(self) -> None:
        while (data := read_frame(self.fd)) is not None:
            self.frames.put(data)
        with self.lock:
            if self.busy:
                os._exit(ORPHANED_EXIT)
            self.closed = True
        self.frames.put(None)

    def next_job(self) -> bytes | None:
        """The next job's frame, the worker then busy with it; None once stdin has ended."""
        data = self.frames.get()
        with self.lock:
            if data is None or self.closed:
                return None
            self.busy = True
            return data

    def idle(self) -> None:
        with self.lock:
            self.busy = False


class _Outbox:
    """The pipe back, the worker idle from its job's 'done' on: the parent may close stdin the
    moment it reads it, and that must be a clean exit."""

    def __init__(self, channel: Connection, inbox: Inbox) -> None:
        self.channel, self.inbox = channel, inbox

    def send(self, message: tuple) -> None:
        if message[0] == "done":
            self.inbox.idle()
        self.channel.send(message)


def log_to(path: str | None) -> None:
    """Point this process's stdout and stderr (the FDs, so framework C++ logs follow) at a job's log."""
    if path is None:
        return
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def main(argv: list[str] | None = None) -> None:
    fd = int((sys.argv[1:] if argv is None else argv)[0])
    os.set_inheritable(fd, False)  # a subprocess of the framework's must not hold the pipe open
    channel = Connection(fd, readable=False)
    stdin = sys.stdin.fileno()
    paths = read_frame(stdin)
    if paths is None:
        return
    sys.path[:] = pickle.loads(paths)
    inbox = Inbox(stdin)
    threading.Thread(target=inbox.read, daemon=True).start()

    from harness.runs.worker import run_job

    while (data := inbox.next_job()) is not None:
        job, log = pickle.loads(data)
        log_to(log)
        run_job(job, _Outbox(channel, inbox))


if __name__ == "__main__":
    main()
