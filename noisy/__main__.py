"""``python -m noisy <command>``: run one job or tool (see :mod:`noisy.cli`)."""

import sys

from noisy.cli import main

sys.exit(main())
