"""Import TensorFlow once, quietly.

Every module of ``core`` that needs TensorFlow imports ``tf`` from here, so whichever entry
point (CLI, UI, tests) comes first, TensorFlow's start-up lines never reach the user: its C++
logger writes them to the stderr file descriptor before any log level applies, so that
descriptor points at /dev/null while TensorFlow loads.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _import_quietly():
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    return tensorflow


tf = _import_quietly()

# The TF1 session loader is deprecated but is exactly what TF Serving runs; its warning
# would drown the one-line messages this tool prints.
tf.get_logger().setLevel("ERROR")

__all__ = ["tf"]
