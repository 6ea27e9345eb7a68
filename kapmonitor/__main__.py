"""`python -m kapmonitor` is the same as the `kapmonitor` command."""

import sys

from kapmonitor.cli import main

sys.exit(main())
