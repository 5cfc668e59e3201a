"""Entry point of ``python -m core``.

``rewrite`` starts its workers first (``core.cli.early``), so they import TensorFlow while this
process does. A one-shot command does not replace a retired worker: nothing would use it.

The process ends without tearing TensorFlow down (``exit_now``): that teardown frees nothing
the system would not free anyway and costs about half a second on every command.
"""

import atexit
import os
import shutil
import sys
import threading

from core.cli.early import start_early
from core.execution.pool import get_pool


def exit_now(code: int) -> None:
    """Exit with ``code`` as ``sys.exit`` would, minus the interpreter's teardown of its modules.

    Exit handlers still run (logging, ``weakref.finalize`` cleanups of temporary folders) and
    the workers are stopped; when a thread that exit would wait for is still running, this
    falls back to ``sys.exit``.
    """
    get_pool().shutdown()
    others = [thread for thread in threading.enumerate() if thread is not threading.current_thread()]
    if any(thread.is_alive() and not thread.daemon for thread in others):
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:  # a closed pipe: CPython's own exit reports it with status 120
            code = code or 120
    os._exit(code)


if __name__ == "__main__":
    get_pool().replace_retired = False
    early = start_early(sys.argv[1:])
    from core.cli.main import main

    code = 1
    try:
        code = main(early=early)
    finally:
        if early is not None and early.staging is not None:  # after a failure, the parent folders made go too
            early.staging.__exit__(RuntimeError if code else None)
        if early is not None:
            shutil.rmtree(early.work_dir, ignore_errors=True)
    exit_now(code)
