"""``python -m app.cli COMMAND``: the headless command line (no window)."""

import sys

from app.cli import main

sys.exit(main())
