"""`python -m bot` is the `bab` command."""

import sys

from bot.cli import main

sys.exit(main())
