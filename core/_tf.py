"""Import TensorFlow once, quietly.

Every module of ``core`` that needs TensorFlow imports ``tf`` from here, so whichever entry
point (CLI, UI, tests) comes first, TensorFlow's start-up lines never reach the user: its C++
logger writes them to the stderr file descriptor before any log level applies, so that
descriptor points at /dev/null while TensorFlow loads. The import runs without garbage
collection, and what it made is frozen out of later collections.
"""

import gc
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _import_quietly():
    sys.stderr.flush()
    saved = os.dup(2)
    collecting = gc.isenabled()
    gc.disable()
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        # TensorFlow's objects live as long as the process. Collecting while they are created
        # costs a fifth of the import, and each later full collection would walk them all
        # again (140 ms): they are set aside instead (with the few cycles the import leaves,
        # about 1 MB).
        gc.freeze()
        if collecting:
            gc.enable()
    return tensorflow


tf = _import_quietly()

# The TF1 session loader is deprecated but is exactly what TF Serving runs; its warning
# would drown the one-line messages this tool prints.
tf.get_logger().setLevel("ERROR")

__all__ = ["tf"]
