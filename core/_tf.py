"""Import TensorFlow once, quietly, with its C++ log noise turned down.

Every module of ``core`` that needs TensorFlow imports ``tf`` from here, so the log level is
set before TensorFlow's first import whichever entry point (CLI, UI, tests) comes first.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

# The TF1 session loader is deprecated but is exactly what TF Serving runs; its warning
# would drown the one-line messages this tool prints.
tf.get_logger().setLevel("ERROR")

__all__ = ["tf"]
