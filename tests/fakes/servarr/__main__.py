"""``python -m tests.fakes.servarr``: the standalone demo (see ``cli``)."""
import sys

from .cli import main

sys.exit(main())
