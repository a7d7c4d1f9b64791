"""A local worker process's entry point: `python -m harness.runs.worker_main FD`.

The local executor starts workers this way rather than with multiprocessing's "spawn", which
re-runs the user's `__main__` in every worker: a script, `python - <<EOF` or a notebook calling
`harness.run` without an `if __name__ == "__main__":` guard would start a run of its own in each.

Stdin brings two pickles, the parent's `sys.path` (so plug-in backends import as they do there)
and the job; messages go back through the inherited pipe FD. Stdin then stays open as long as
the parent lives: its end (the parent died, or gave the worker up) ends the worker, so none is
left orphaned. A later worker that takes several jobs would read them from the same stream.
"""

from __future__ import annotations

import os
import pickle
import sys
import threading
from multiprocessing.connection import Connection

ORPHANED_EXIT = 70  # the parent is gone: nobody reads this code, it only marks the log's end


def _exit_when_parent_goes(fd: int) -> None:
    """Block on stdin; its EOF means the parent closed it or died. It reads the bare FD: a thread
    blocked inside `sys.stdin.buffer` would hold its lock, and Python aborts at exit on that lock."""
    while os.read(fd, 65536):
        pass
    os._exit(ORPHANED_EXIT)


def main(argv: list[str] | None = None) -> None:
    fd = int((sys.argv[1:] if argv is None else argv)[0])
    os.set_inheritable(fd, False)  # a subprocess of the framework's must not hold the pipe open
    channel = Connection(fd, readable=False)
    stream = sys.stdin.buffer
    sys.path[:] = pickle.load(stream)
    job = pickle.load(stream)
    threading.Thread(target=_exit_when_parent_goes, args=(stream.fileno(),), daemon=True).start()

    from harness.runs.worker import run_job

    run_job(job, channel)


if __name__ == "__main__":
    main()
