"""``python -m noisy``: run one workflow stage (see noisy.cli)."""

import sys

from noisy.cli import main

sys.exit(main())
