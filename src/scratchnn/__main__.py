"""`python -m scratchnn` is the `scratchnn` command."""

import sys

try:
    from scratchnn.cli import main
except KeyboardInterrupt:          # Ctrl-C while Python imports the command line
    print("scratchnn: interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
