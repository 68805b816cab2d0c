"""Entry point of the bundled app: the same `nhiplan` command line (no arguments opens the app)."""

import sys

from nhiplan.core.cli import main

if __name__ == "__main__":
    sys.exit(main())
