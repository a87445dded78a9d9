"""Run the command line as `python -m sheetgen`."""

import sys

from .cli import main

sys.exit(main())
