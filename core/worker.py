"""The worker: ``python -m core.worker``, a process that runs model code for the Studio.

It imports TensorFlow once, says it is ready, then answers calls until its input ends. Calls
and answers are wire messages (``core.execution.wire``: plain data and arrays, never pickle).
Only the functions in ``FUNCTIONS`` can be called. Whatever model code prints goes to stderr,
so it can never be mistaken for an answer.

A call is ``{"function": NAME, "args": {...}}``; an answer ``{"result": ...}`` or
``{"error": KIND, "message": TEXT}`` where KIND names a ``StudioError`` class.
"""

from __future__ import annotations

import gc
import importlib
import os
import resource
import sys
from typing import Any

# name → "module:function"; each takes and returns plain data.
FUNCTIONS = {
    "run_models": "core.execution.loaders:run_models_call",
    "serve": "core.execution.loaders:serve_call",
    "rewrite_object": "core.rewrite.tf2_load_save:rewrite_object_call",
    "export_keras": "core.sources.keras_file:export_keras_call",
}


def _answer(call: Any) -> dict[str, Any]:
    from core.errors import StudioError, describe

    name = call.get("function") if isinstance(call, dict) else None
    if name not in FUNCTIONS:
        return {"error": "StudioError", "message": f"the worker has no function '{name}'; it has {sorted(FUNCTIONS)}"}
    try:
        module_name, _, attribute = FUNCTIONS[name].partition(":")
        function = getattr(importlib.import_module(module_name), attribute)
        return {"result": function(**call.get("args", {}))}
    except StudioError as err:
        return {"error": type(err).__name__, "message": str(err)}
    except Exception as err:  # the caller gets a sentence, never a traceback
        return {"error": "StudioError", "message": f"unexpected failure in the worker: {describe(err)}"}


def _cap_memory() -> None:
    """Cap this process's data memory as the Studio asks: past it, allocations fail (TensorFlow
    reports them as out of memory) instead of the machine running out."""
    limit = os.environ.get("STUDIO_WORKER_MEMORY_BYTES", "")
    if limit.isdigit():
        resource.setrlimit(resource.RLIMIT_DATA, (int(limit), int(limit)))


def main() -> int:
    _cap_memory()
    channel = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # print() and tf.print() of model code land on stderr
    sys.stdout = sys.stderr
    import core._tf  # noqa: F401 - warm: TensorFlow is imported before the first call
    from core.execution.memory import release_memory
    from core.execution.wire import read_message, write_message

    gc.freeze()  # the Studio's own modules join TensorFlow's (frozen by core._tf) outside collection

    write_message(channel, {"ready": os.getpid()})
    calls = sys.stdin.buffer
    while True:
        try:
            call = read_message(calls)
        except EOFError:
            return 0
        write_message(channel, _answer(call))
        release_memory()  # what the call freed goes back to the system while the caller reads the answer


if __name__ == "__main__":
    sys.exit(main())
