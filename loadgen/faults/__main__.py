"""Entry point of `python -m loadgen.faults`."""

import sys

from loadgen.faults.cli import main

sys.exit(main())
