"""`python -m core`: the command line (core/cli/main.py)."""

import sys

from core.cli.main import EXIT_INTERRUPTED, main

if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # between main's return and the exit
        sys.stderr.write("Interrupted.\n")
        sys.exit(EXIT_INTERRUPTED)
