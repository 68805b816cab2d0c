"""Entry point of the bundled app: the same `nhiplan` command line (no arguments opens the app)."""

import multiprocessing
import sys

from nhiplan.core.cli import main

if __name__ == "__main__":
    # The desktop app computes recommendations of large estates in a child process; a frozen
    # app must let that child start as the worker, not as a second copy of the app.
    multiprocessing.freeze_support()
    sys.exit(main())
