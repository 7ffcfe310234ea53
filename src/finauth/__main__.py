"""`python -m finauth`, the same as the `finauth` command."""

import sys

from .cli import main

sys.exit(main())
