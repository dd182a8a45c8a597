"""``python -m sim`` is the ``techbar`` command."""

import sys

from sim.cli import main

sys.exit(main())
