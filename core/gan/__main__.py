"""``python -m gan ...`` (what ``torchrun ... -m gan run ...`` executes)."""

import sys

from .cli import main

sys.exit(main())
