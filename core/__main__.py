"""Entry point of ``python -m core``.

``rewrite`` starts its workers first (``core.cli.early``), so they import TensorFlow while this
process does. A one-shot command does not replace a retired worker: nothing would use it.
"""

import shutil
import sys

from core.cli.early import start_early
from core.execution.pool import get_pool

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
    sys.exit(code)
