"""``python -m collector`` is ``fathom``."""

import sys

from collector.cli import main

sys.exit(main())
