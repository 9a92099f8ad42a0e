"""`python -m bot` is the same as the `nexus` command."""

import sys

from bot.cli import main

sys.exit(main())
